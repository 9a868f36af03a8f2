"""The remote witness: each signed checkpoint POSTed to a URL outside this host.

A witness file on the same host falls to whoever controls the host. A copy
sent elsewhere — a records system, another organisation's server — does not.
The body is the checkpoint itself (already signed with the audit key, so the
receiver can check it with the public key in it); the request is also signed
like the alert webhooks (Standard Webhooks: ``webhook-id``, ``webhook-timestamp``,
``webhook-signature`` with the webhook secret), so the receiver knows it came from
us and is fresh, with any off-the-shelf verifier. It carries no content: sequence numbers, MACs and times.
"""

from __future__ import annotations

from casefeedback.alerts import channels
from casefeedback.audit.checkpoints import Checkpoint
from casefeedback.config import Config


class RemoteWitnessFailed(Exception):
    """Not accepted; ``kind`` is a short, content-free reason."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def send_checkpoint(config: Config, checkpoint: Checkpoint, now: int) -> None:
    if not config.audit_witness_url:
        raise RemoteWitnessFailed("no remote witness set")
    post_signed(config, config.audit_witness_url, checkpoint.to_json().encode("utf-8"), now)


def post_signed(config: Config, url: str, body: bytes, now: int) -> None:
    try:
        channels.post_signed(config, url, body, now)
    except channels.DeliveryFailed as failed:
        raise RemoteWitnessFailed(failed.kind) from None
