"""The export is a Frictionless Data Package a partner can validate, load and verify with their own tools."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import frictionless
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from casefeedback.insight.counts import Scope
from casefeedback.insight.export import Bundle, build_bundle, public_key_of, public_key_pem, verify_bundle
from casefeedback.storage.engine import read
from tests.insight.support import SERVICE, set_counts, team

SEED = b"\x07" * 32


@pytest.fixture
def bundle(found) -> Bundle:
    north, south = team(found, "North"), team(found, "=cmd|evil")
    set_counts(found, {(SERVICE, north, "2026-01", "listened", "yes"): 12,
                       (SERVICE, north, "2026-01", "listened", "no"): 3,  # under 10: suppressed
                       (SERVICE, south, "2026-02", "treated", "4"): 10})
    with read(found.engine) as connection:
        return build_bundle(connection, found.policies.services[SERVICE], Scope(SERVICE, None, "2026-01", "2026-02"),
                            {north: "North", south: "=cmd|evil"}, seed=SEED, instance_id="inst",
                            now=datetime(2026, 3, 1, tzinfo=UTC))


def unpack(bundle: Bundle, where: Path) -> Path:
    where.mkdir()
    for name, body in bundle.files.items():
        (where / name).write_bytes(body)
    return where / "datapackage.json"


def test_frictionless_finds_the_package_valid_typed_and_described(bundle, tmp_path):
    descriptor = unpack(bundle, tmp_path / "pkg")
    report = frictionless.validate(str(descriptor))
    assert report.valid, report.flatten(["resourceName", "rowNumber", "type", "note"])
    package = frictionless.Package(str(descriptor))
    assert package.licenses and package.licenses[0]["name"] == "OGL-UK-3.0" and package.sources
    assert sorted(r.name for r in package.resources) == ["answers", "insight", "questions"]
    for resource in package.resources:
        assert str(resource.hash).startswith("sha256:") and resource.bytes
        for field in resource.schema.fields:
            assert field.description and field.type != "any", (resource.name, field.name)
    counts = package.get_resource("insight").schema.get_field("count")
    assert counts.type == "integer" and counts.constraints["minimum"] == 10


def test_suppressed_cells_are_missing_values_not_numbers(bundle, tmp_path):
    rows = frictionless.Package(str(unpack(bundle, tmp_path / "pkg"))).get_resource("insight").read_rows()
    month = {row["month"] for row in rows}.pop()
    assert (month.year, month.month) in {(2026, 1), (2026, 2)}  # typed: a year and a month, not a string
    cell = {(r["team"], f"{r['month'].year}-{r['month'].month:02d}", r["question_id"], r["answer"]): r["count"]
            for r in rows}
    assert cell[("North", "2026-01", "listened", "yes")] == 12
    assert cell[("North", "2026-01", "listened", "no")] is None  # 3 people: withheld
    assert cell[("North", "2026-02", "listened", "yes")] is None  # nobody: reads the same as "a few"
    assert cell[("'=cmd|evil", "2026-02", "treated", "4")] == 10  # a formula-like name is neutralised
    assert all(n is None or n >= 10 for n in cell.values())


def test_a_changed_csv_fails_both_the_signature_check_and_frictionless(bundle, tmp_path):
    key = public_key_of(SEED)
    assert verify_bundle(bundle.files, key) == []
    changed = dict(bundle.files, **{"insight.csv": bundle.files["insight.csv"].replace(b",12\r", b",13\r")})
    assert changed["insight.csv"] != bundle.files["insight.csv"]
    assert verify_bundle(changed, key) == ["insight.csv is missing or changed"]
    descriptor = unpack(Bundle(changed, 0, ""), tmp_path / "pkg")
    assert "hash-count" in {e.type for task in frictionless.validate(str(descriptor)).tasks for e in task.errors}
    forged = dict(bundle.files, **{"datapackage.json": bundle.files["datapackage.json"].replace(b"OGL", b"CC0")})
    assert verify_bundle(forged, key) == ["datapackage.json is not signed by the expected key, or was changed"]
    assert verify_bundle(bundle.files, public_key_of(b"\x08" * 32))  # another sender's key


def test_the_documented_ways_to_verify_work(bundle, tmp_path):
    descriptor = unpack(bundle, tmp_path / "pkg")
    signature = (tmp_path / "pkg" / "datapackage.json.sig").read_bytes()
    # The Python snippet in docs/insight-export.md (raises if forged).
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_of(SEED))).verify(signature, descriptor.read_bytes())
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    pem = tmp_path / "partner.pem"
    pem.write_text(public_key_pem(public_key_of(SEED)))
    command = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(pem), "-rawin",
               "-in", str(descriptor), "-sigfile", str(tmp_path / "pkg" / "datapackage.json.sig")]
    assert subprocess.run(command, capture_output=True, check=False).returncode == 0
    descriptor.write_bytes(descriptor.read_bytes().replace(b"OGL", b"CC0"))
    assert subprocess.run(command, capture_output=True, check=False).returncode != 0
