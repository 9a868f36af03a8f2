"""Envelope encryption: only a grant opens a field; any change or move fails, never returns wrong data."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casefeedback.crypto.aead import FORMAT_VERSION, NONCE_BYTES, IntegrityFailure
from casefeedback.crypto.envelope import SubmissionSealer, open_field
from casefeedback.crypto.keyring import Keyring, UnknownKeyError
from casefeedback.policy import load_policies
from casefeedback.policy.decisions import AccessGrant, Actor, CaseFacts, decide
from tests.conftest import POLICIES

POLICY = load_policies(POLICIES).services["victim-support"]
OWNER = Actor("owner-1", "caseworker", "team-1")
CASE = CaseFacts("case-1", "owner-1", None, "team-1")


def keyring() -> Keyring:
    return Keyring({"k1": os.urandom(32)}, "k1")


def seal_one(ring: Keyring, plaintext: str = "hello", submission: str = "sub-1", field_class: str = "narrative"):
    sealer = SubmissionSealer(ring, submission)
    sealed = sealer.seal(table="answers", row_id="row-1", field_id="anything_else", field_class=field_class,
                         plaintext=plaintext)
    (key,) = sealer.wrapped_keys()
    return sealed, key


def grant(submission: str = "sub-1", field_class: str = "narrative") -> AccessGrant:
    decision = decide(POLICY, OWNER, CASE, submission, field_class, "casework")
    assert isinstance(decision, AccessGrant)
    return decision


def test_round_trip_with_a_grant():
    ring = keyring()
    sealed, key = seal_one(ring, "what happened to me")
    assert open_field(grant(), ring, key, sealed) == "what happened to me"


def test_wire_format_is_version_nonce_then_gcm_output():
    sealed, _ = seal_one(keyring(), "x" * 10)
    assert sealed.ciphertext[0] == FORMAT_VERSION
    assert len(sealed.ciphertext) == 1 + NONCE_BYTES + 10 + 16


def test_nonces_are_fresh_each_time():
    ring = keyring()
    nonces = {seal_one(ring, "same")[0].ciphertext[1:13] for _ in range(200)}
    assert len(nonces) == 200


def test_one_data_key_per_submission_and_class():
    sealer = SubmissionSealer(keyring(), "sub-1")
    a = sealer.seal(table="answers", row_id="r1", field_id="q1", field_class="rating", plaintext="1")
    b = sealer.seal(table="answers", row_id="r2", field_id="q2", field_class="rating", plaintext="2")
    c = sealer.seal(table="answers", row_id="r3", field_id="q3", field_class="narrative", plaintext="3")
    assert a.data_key_id == b.data_key_id != c.data_key_id
    assert sorted(k.field_class for k in sealer.wrapped_keys()) == ["narrative", "rating"]


@given(st.integers(min_value=0), st.integers(min_value=0, max_value=7))
def test_any_flipped_bit_fails_clearly(position, bit):
    ring = keyring()
    sealed, key = seal_one(ring, "a secret")
    blob = bytearray(sealed.ciphertext)
    blob[position % len(blob)] ^= 1 << bit
    with pytest.raises(IntegrityFailure):
        open_field(grant(), ring, key, replace(sealed, ciphertext=bytes(blob)))


@pytest.mark.parametrize("moved", [
    {"row_id": "row-2"},
    {"field_id": "safer"},
    {"table": "other_table"},
])
def test_ciphertext_moved_to_another_place_fails(moved):
    ring = keyring()
    sealed, key = seal_one(ring)
    with pytest.raises(IntegrityFailure):
        open_field(grant(), ring, key, replace(sealed, **moved))


def test_ciphertext_moved_to_another_submission_fails():
    ring = keyring()
    sealed_a, _ = seal_one(ring, "from A", submission="sub-A")
    _, key_b = seal_one(ring, "from B", submission="sub-B")
    with pytest.raises(IntegrityFailure):
        open_field(grant("sub-B"), ring, key_b, replace(sealed_a, data_key_id=key_b.id))


def test_wrapped_key_moved_to_another_submission_fails():
    ring = keyring()
    sealed, key = seal_one(ring, submission="sub-A")
    with pytest.raises(IntegrityFailure):
        open_field(grant("sub-B"), ring, replace(key, submission_id="sub-B"), sealed)


def test_unknown_kek_fails_clearly():
    ring = keyring()
    sealed, key = seal_one(ring)
    other = Keyring({"k2": os.urandom(32)}, "k2")
    with pytest.raises(UnknownKeyError, match="not loaded"):
        open_field(grant(), other, key, sealed)


def test_a_grant_cannot_be_forged():
    with pytest.raises(TypeError, match="issued only by"):
        AccessGrant(object(), OWNER, "sub-1", "narrative", "casework", "forged")


def test_a_grant_opens_only_its_own_field_class():
    ring = keyring()
    sealed, key = seal_one(ring, field_class="narrative")
    with pytest.raises(PermissionError):
        open_field(grant(field_class="rating"), ring, key, sealed)


def test_no_grant_no_plaintext():
    ring = keyring()
    sealed, key = seal_one(ring)
    with pytest.raises(TypeError):
        open_field(None, ring, key, sealed)  # type: ignore[arg-type]


def test_keys_never_appear_in_reprs():
    ring = keyring()
    sealed, key = seal_one(ring)
    assert ring.keks["k1"].hex() not in repr(ring)
    assert "wrapped" not in repr(key) and "ciphertext" not in repr(sealed)
