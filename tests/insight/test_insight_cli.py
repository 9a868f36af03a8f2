"""`casefeedback insight public-key` and `verify`, run as a partner agency would run them."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime

from casefeedback.insight.counts import Scope
from casefeedback.insight.export import build_bundle, public_key_of
from casefeedback.storage.engine import read
from tests.insight.support import SERVICE, set_counts, team
from tests.test_cli import run


def test_public_key_and_verify_a_bundle(found, config, tmp_path):
    north = team(found, "North")
    set_counts(found, {(SERVICE, north, "2026-01", "listened", "yes"): 12})
    seed = config.secrets.insight_signing.value
    with read(found.engine) as connection:
        bundle = build_bundle(connection, found.policies.services[SERVICE], Scope(SERVICE, None, "2026-01", "2026-01"),
                              {north: "North"}, seed=seed, instance_id="i", now=datetime(2026, 2, 1, tzinfo=UTC))
    good = tmp_path / "good.zip"
    good.write_bytes(bundle.zip_bytes())
    printed = run("insight", "public-key", instance=config.instance_dir)
    assert printed.returncode == 0 and printed.stdout.strip() == public_key_of(seed)

    ok = run("insight", "verify", str(good), "--public-key", printed.stdout.strip(), instance=config.instance_dir)
    assert ok.returncode == 0, ok.stderr

    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        for name, body in bundle.files.items():
            archive.writestr(name, body.replace(b",12\r", b",13\r") if name == "insight.csv" else body)
    refused = run("insight", "verify", str(bad), "--public-key", printed.stdout.strip(), instance=config.instance_dir)
    assert refused.returncode == 1 and "insight.csv is missing or changed" in refused.stderr
    assert "Traceback" not in refused.stderr

    not_zip = tmp_path / "x.zip"
    not_zip.write_text("hello")
    unreadable = run("insight", "verify", str(not_zip), "--public-key", "00" * 32, instance=config.instance_dir)
    assert unreadable.returncode == 1 and "cannot be read" in unreadable.stderr


def test_a_public_key_that_is_not_one_is_refused_clearly(config, tmp_path):
    bundle = tmp_path / "b.zip"
    with zipfile.ZipFile(bundle, "w") as archive:
        archive.writestr("datapackage.json", "{}")
    refused = run("insight", "verify", str(bundle), "--public-key", "not-a-key", instance=config.instance_dir)
    assert refused.returncode == 1 and "64 hexadecimal characters" in refused.stderr
    assert "Traceback" not in refused.stderr
