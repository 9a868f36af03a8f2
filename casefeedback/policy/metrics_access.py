"""Who may read /metrics: the holder of the metrics token, or a client in an allowed network.

The metrics say how busy the service is and whether alerts are overdue: nothing
personal, but not for the world either (how many people gave feedback this week
is itself a signal). So the default is nobody; the operator names the scraper.
"""

from __future__ import annotations

import hmac
from ipaddress import ip_address

from casefeedback.config import Config


def may_read_metrics(config: Config, authorization: str | None, client_address: str | None) -> bool:
    """A ``Bearer`` header with the token (compared in constant time), or an address in ``metrics_allow``."""
    if config.metrics_token and authorization:
        scheme, _, offered = authorization.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(offered.strip().encode(), config.metrics_token.encode()):
            return True
    if config.metrics_allow and client_address:
        try:
            address = ip_address(client_address)
        except ValueError:
            return False
        return any(address in network for network in config.metrics_allow)
    return False
