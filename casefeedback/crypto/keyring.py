"""Key-encryption keys (KEKs), each with an id; exactly one is active for wrapping.

Rotation is online: a keyring built with a ``source`` re-reads the
instance's key-encryption keys when it meets a data key wrapped by one it
does not know (a rotation elsewhere has re-wrapped it), and every few seconds
when wrapping (so new data keys follow the newly active KEK promptly).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from casefeedback.crypto.aead import IntegrityFailure, associated_data, decrypt, encrypt

KEK_BYTES = 32
log = logging.getLogger(__name__)
_clock = time.monotonic  # (tests put their own in its place)
# (every KEK by id, the active id), freshly read from wherever the instance keeps them.
KekSource = Callable[[], tuple[Mapping[str, bytes], str]]


class UnknownKeyError(IntegrityFailure):
    """A data key was wrapped by a key-encryption key this instance does not hold."""


class KeysUnavailable(Exception):
    """This process has not been able to read the instance's keys for too long to wrap anything new."""


# Wrapping stops when the keys could not be re-read for this long. Within it a process may go on wrapping
# under the key it last read as active, which a rotation may have replaced meanwhile; the replaced key is
# destroyed no sooner than ``rotation.RETIRE_AFTER`` (15 minutes) after the rotation, and its retirement
# counts (in its write transaction) what was wrapped under it before then. A process that cannot read its
# key files for longer — a permissions change, a secret store down — refuses new answers (a calm 503) rather
# than seal them under a key that may be gone by the time they are read: nothing acknowledged is lost.
STALE_WRAP_AFTER_S = 300.0


class _Live:
    """The keys in force now; replaced whole on refresh, so readers never see half an update."""

    def __init__(self, keks: Mapping[str, bytes], active_id: str) -> None:
        self.keks = dict(keks)
        self.active_id = active_id
        self.read_at = _clock()
        self.confirmed_at = self.read_at  # when the source last answered (``read_at``: when it was last asked)
        self.lock = threading.Lock()


@dataclass(frozen=True)
class Keyring:
    keks: Mapping[str, bytes] = field(repr=False)
    active_id: str
    source: KekSource | None = field(default=None, repr=False, compare=False)
    refresh_every_s: float = field(default=10.0, repr=False, compare=False)
    _live: _Live = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.active_id not in self.keks:
            raise ValueError(f"active key-encryption key {self.active_id!r} is not in the keyring")
        object.__setattr__(self, "_live", _Live(self.keks, self.active_id))

    def __repr__(self) -> str:
        return f"Keyring(ids={sorted(self._live.keks)}, active={self._live.active_id!r})"

    @property
    def current_active_id(self) -> str:
        return self._live.active_id

    def ids(self) -> list[str]:
        return sorted(self._live.keks)

    def wrap(self, data_key: bytes, context: tuple[str, ...]) -> tuple[str, bytes]:
        """Wrap under the active KEK; the KEK id is bound into the associated data."""
        if self.source is not None and _clock() - self._live.read_at >= self.refresh_every_s:
            self.refresh()
        live = self._live
        if self.source is not None and _clock() - live.confirmed_at > STALE_WRAP_AFTER_S:
            raise KeysUnavailable("this process has not been able to read the instance's key-encryption keys "
                                  f"for over {STALE_WRAP_AFTER_S / 60:.0f} minutes, so it cannot know which one is "
                                  "active: nothing new is sealed until it can (check the key files' permissions, "
                                  "or the secret store)")
        aad = associated_data("data_keys", *context, live.active_id)
        return live.active_id, encrypt(live.keks[live.active_id], data_key, aad)

    def unwrap(self, kek_id: str, wrapped: bytes, context: tuple[str, ...]) -> bytes:
        kek = self._live.keks.get(kek_id)
        if kek is None and self.source is not None:
            self.refresh()
            kek = self._live.keks.get(kek_id)
        if kek is None:
            raise UnknownKeyError(f"data key is wrapped by key-encryption key {kek_id!r}, which is not loaded")
        return decrypt(kek, wrapped, associated_data("data_keys", *context, kek_id))

    def rewrap(self, kek_id: str, wrapped: bytes, context: tuple[str, ...]) -> tuple[str, bytes]:
        """The same data key, wrapped anew under the active KEK (rotation). The data key never leaves here."""
        return self.wrap(self.unwrap(kek_id, wrapped, context), context)

    def refresh(self) -> None:
        """Re-read the keys from the source; on any failure keep the keys already held (fail safe)."""
        if self.source is None:
            return
        with self._live.lock:
            try:
                keks, active = self.source()
            except Exception as error:  # a half-written key file must not take the keyring down
                if self._live.confirmed_at == self._live.read_at:  # the first failure after a good read
                    log.warning("could not re-read the key-encryption keys (%s); keeping those held, and "
                                "sealing nothing new if this lasts %.0f minutes", type(error).__name__,
                                STALE_WRAP_AFTER_S / 60)
                self._live.read_at = _clock()
                return
            if active in keks:
                # Replaced, not merged: a KEK retired on disk (destroyed only once no data key
                # uses it, days after its rotation) leaves this process too, so a running
                # instance holds no key that the erasure horizon says is gone.
                fresh = _Live(keks, active)
                object.__setattr__(self, "_live", fresh)
            else:
                self._live.read_at = _clock()


def new_kek() -> bytes:
    return os.urandom(KEK_BYTES)
