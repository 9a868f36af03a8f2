"""A process that cannot re-read the instance's keys stops sealing new answers before a rotation's old key may
be destroyed: it answers a calm 503 and loses nothing, and carries on as soon as the keys can be read again."""

from __future__ import annotations

import logging
import time

import pytest

from casefeedback.crypto import keyring as keyring_module
from casefeedback.crypto.keyring import STALE_WRAP_AFTER_S, Keyring, KeysUnavailable, new_kek
from casefeedback.crypto.rotation import RETIRE_AFTER
from tests.conftest import canary
from tests.helpers import ServiceUser


class Clock:
    def __init__(self) -> None:
        self.now = time.monotonic()  # from the real one: keyrings made before it was put in read that

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def monotonic(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(keyring_module, "_clock", clock)
    return clock


def test_the_stale_limit_is_well_inside_the_retirement_grace() -> None:
    # A process last sure of the active key just before a rotation stops wrapping under the old one long before
    # the old one may be destroyed (crypto/rotation.py: RETIRE_AFTER).
    assert RETIRE_AFTER.total_seconds() >= STALE_WRAP_AFTER_S * 2


def test_wrapping_stops_once_the_keys_could_not_be_read_for_too_long(monotonic, caplog) -> None:
    keks = {"k1": new_kek()}
    readable = [True]

    def source():  # type: ignore[no-untyped-def]
        if not readable[0]:
            raise PermissionError("key file not readable")
        return keks, "k1"

    ring = Keyring(dict(keks), "k1", source=source)
    ring.wrap(b"\x01" * 32, ("dk-1", "sub-1", "rating"))
    readable[0] = False
    with caplog.at_level(logging.WARNING, logger="casefeedback.crypto.keyring"):
        for _ in range(int(STALE_WRAP_AFTER_S // 60)):
            monotonic.now += 60  # a wrap a minute: each tries to re-read, fails, and keeps the keys held
            assert ring.wrap(b"\x02" * 32, ("dk-2", "sub-2", "rating"))[0] == "k1"
    warnings = [r for r in caplog.records if "could not re-read" in r.getMessage()]
    assert len(warnings) == 1 and "PermissionError" in warnings[0].getMessage()  # said once, not every time
    monotonic.now += 61
    with pytest.raises(KeysUnavailable, match="cannot know which one is active"):
        ring.wrap(b"\x03" * 32, ("dk-3", "sub-3", "rating"))
    # Reading what is already stored goes on: the keys held still open it.
    kek_id, wrapped = Keyring(dict(keks), "k1").wrap(b"\x04" * 32, ("dk-4", "sub-4", "rating"))
    assert ring.unwrap(kek_id, wrapped, ("dk-4", "sub-4", "rating")) == b"\x04" * 32
    readable[0] = True
    monotonic.now += ring.refresh_every_s
    assert ring.wrap(b"\x05" * 32, ("dk-5", "sub-5", "rating"))[0] == "k1"


def test_a_keyring_without_a_source_never_goes_stale(monotonic) -> None:
    ring = Keyring({"k1": new_kek()}, "k1")  # keys from the environment: nothing to re-read
    monotonic.now += 10 * STALE_WRAP_AFTER_S
    assert ring.wrap(b"\x01" * 32, ("dk-1", "sub-1", "rating"))[0] == "k1"


def test_a_send_with_keys_unreadable_is_a_calm_503_and_sends_once_they_are_back(app, found, monotonic) -> None:
    from casefeedback.services import services

    with app.app_context():
        ring = services().keyring
    person = ServiceUser(app.test_client())
    person.consent("store")
    secret = canary()
    person.answer_all({"treated": "4", "anything_else": secret})
    real_source = ring.source

    def unreadable():  # type: ignore[no-untyped-def]
        raise PermissionError("key file not readable")

    object.__setattr__(ring, "source", unreadable)
    monotonic.now += STALE_WRAP_AFTER_S + ring.refresh_every_s + 1
    refused = person.send()
    page = refused.get_data(as_text=True)
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert "nothing was half-saved" in page and "Traceback" not in page and secret not in page
    object.__setattr__(ring, "source", real_source)
    monotonic.now += ring.refresh_every_s
    sent = person.send()  # the draft was kept whole: the same Send now goes through
    assert sent.status_code == 200 and "receipt-code" in sent.get_data(as_text=True)
