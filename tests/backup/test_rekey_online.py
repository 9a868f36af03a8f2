"""`keys rekey-db` online: under a stream of sends nothing is lost, the pause is short, the old key opens nothing,
and a re-key killed at any point leaves an instance that opens and a next run that finishes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from casefeedback.instance import load_secrets
from casefeedback.storage.dialect import StoreOpenError, integrity_problems, open_readonly
from casefeedback.storage.engine import open_engine, read
from casefeedback.storage.tables import submissions
from tests.conftest import ROOT
from tests.retention.conftest import seed_submission

PAUSED = re.compile(r"writes paused for (\d+\.\d+) s")


def environment(config) -> dict[str, str]:
    return {**os.environ, "CASEFEEDBACK_INSTANCE": str(config.instance_dir),
            "CASEFEEDBACK_POLICIES": str(config.policies_dir), "CASEFEEDBACK_ENV": "testing",
            # One test client sends hundreds of times from one address: the limits are not under test here.
            "CASEFEEDBACK_RATELIMIT_ENABLED": "0"}


def run(config, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=environment(config), text=True,
                          capture_output=True, timeout=timeout, check=False)


def key_on_disk(config) -> bytes:
    return load_secrets(config.instance_dir, {}).database.value


def count_submissions(config) -> int:
    engine = open_engine(config.database_path, key_on_disk(config))
    try:
        with read(engine) as connection:
            return int(connection.execute(select(func.count()).select_from(submissions)).scalar_one())
    finally:
        engine.dispose()


def assert_sound_under_the_new_key_only(config, old_keys: list[bytes]) -> None:
    """integrity_check and the page MACs pass; `audit verify` passes; no old key opens any file left."""
    key = key_on_disk(config)
    live = open_readonly(config.database_path.resolve(), key)
    try:
        assert integrity_problems(live) == []
        leftovers = live.execute("SELECT name FROM sqlite_master WHERE name LIKE 'casefeedback_rekey_%'").fetchall()
        assert leftovers == []  # the change log and its triggers never reach the new file
    finally:
        live.close()
    verified = subprocess.run([sys.executable, "-m", "casefeedback", "audit", "verify"], cwd=ROOT,
                              env=environment(config), text=True, capture_output=True, check=False)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    instance = config.instance_dir
    files = [p for p in instance.rglob("*") if p.is_file() and not p.is_symlink()]
    for old in old_keys:
        assert old != key
        with pytest.raises(StoreOpenError):
            open_engine(config.database_path, old)
        for path in files:
            assert old.hex() not in path.read_bytes().decode("latin-1"), f"the old key is still in {path}"
            if path.name.startswith("casefeedback.db") and path.stat().st_size and not path.name.endswith(("-wal",
                                                                                                         "-shm")):
                with pytest.raises(Exception):  # noqa: B017 — "not a database" or not ours: either way, unusable
                    open_readonly(path, old).close()
    secrets = {p.name for p in (instance / "secrets").iterdir()}
    assert not {"database.key.new", "database.key.retiring"} & secrets
    generations = [p.name for p in instance.glob("casefeedback.db.gen-*") if not p.name.endswith(("-wal", "-shm"))]
    assert generations == [os.readlink(config.database_path)]
    assert not (instance / "casefeedback.db-wal").exists() and not (instance / "casefeedback.db-shm").exists()


def seed(found, n: int) -> None:
    for _ in range(n):
        seed_submission(found, {"treated": "3", "anything_else": "seeded canary 51c0", "safe_now": "yes"})


def wait_for_acks(acks: Path, n: int, after: float = 0.0, timeout: float = 60) -> list[tuple[float, str]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = acks.read_text(encoding="utf-8").splitlines() if acks.exists() else []
        failed = [line for line in lines if line.startswith("FAIL")]
        assert not failed, failed
        got = [(float(line.split()[1]), line.split()[2]) for line in lines if line.startswith("ACK")]
        if len([t for t, _ in got if t > after]) >= n:
            return got
        time.sleep(0.1)
    raise AssertionError(f"fewer than {n} sends acknowledged after {after}")


def test_rekey_under_a_stream_of_sends_loses_nothing_and_pauses_briefly(found, tmp_path):
    seed(found, 300)
    config = found.config
    old_key = config.secrets.database.value
    before = count_submissions(config)
    acks, stop = tmp_path / "acks.txt", tmp_path / "stop"
    sender = subprocess.Popen([sys.executable, "-m", "tests.backup.stream", str(acks), str(stop)], cwd=ROOT,
                              env=environment(config), stderr=subprocess.PIPE, text=True)
    try:
        wait_for_acks(acks, 3)
        started = time.time()
        rekeyed = run(config, "-m", "casefeedback", "keys", "rekey-db", "--yes")
        finished = time.time()
        assert rekeyed.returncode == 0, rekeyed.stdout + rekeyed.stderr
        got = wait_for_acks(acks, 5, after=finished)  # the running app keeps serving, on the new file
    finally:
        stop.touch()
        _, errors = sender.communicate(timeout=60)
    assert sender.returncode == 0, errors
    paused = float(PAUSED.findall(rekeyed.stdout)[-1])
    assert paused <= 2.0, rekeyed.stdout
    assert "table 1 of" in rekeyed.stdout and "Old key: destroyed" in rekeyed.stdout
    assert any(started < t < finished for t, _ in got), "no send was acknowledged while the re-key ran"
    acknowledged = len(wait_for_acks(acks, 0))
    assert count_submissions(config) == before + acknowledged  # none acknowledged was lost
    # This process's engine was opened before the re-key: it follows to the new file and key too.
    seed(found, 1)
    assert count_submissions(config) == before + acknowledged + 1
    assert_sound_under_the_new_key_only(config, [old_key])
    log = (config.instance_dir / "logs" / "casefeedback.log").read_text(encoding="utf-8")
    assert len([line for line in log.splitlines() if "database re-keyed online" in line]) == 1


@pytest.mark.parametrize("point", ["before-copy", "during-copy", "during-catch-up", "during-the-pause",
                                   "right-after-swap", "after-new-key-installed"])
def test_killed_at_any_point_the_instance_opens_and_the_next_run_finishes(found, point):
    seed(found, 40)
    config = found.config
    found.engine.dispose()
    original = config.secrets.database.value
    before = count_submissions(config)
    killed = run(config, "-m", "tests.backup.rekey_killed", point)
    assert killed.returncode == -9, killed.stdout + killed.stderr
    # As it was left: some key on disk opens what casefeedback.db points to, with every row in it
    # (the engine falls back to database.key.new between the swap and the key's rename).
    secrets = config.instance_dir / "secrets"
    engine = open_engine(config.database_path, key_on_disk(config), key_file=secrets / "database.key")
    try:
        with read(engine) as connection:
            assert connection.execute(select(func.count()).select_from(submissions)).scalar_one() == before
            connection.execute(text("SELECT count(*) FROM audit_events"))
    finally:
        engine.dispose()
    again = run(config, "-m", "casefeedback", "keys", "rekey-db", "--yes")
    assert again.returncode == 0, again.stdout + again.stderr
    swapped = point in ("right-after-swap", "after-new-key-installed")
    assert ("Finished an interrupted re-key" in again.stdout) == swapped, again.stdout
    if not swapped:
        assert "Rolled back an interrupted re-key" in again.stdout and "writes paused for" in again.stdout
    assert count_submissions(config) == before
    assert_sound_under_the_new_key_only(config, [original])


def test_a_start_finishes_an_interrupted_swap(found):
    """Killed right after the swap, then the web app or the worker starts first: it finishes the re-key itself."""
    from casefeedback.config import Config
    from casefeedback.policy import load_policies
    from casefeedback.services import build_services

    config = found.config
    found.engine.dispose()
    killed = run(config, "-m", "tests.backup.rekey_killed", "right-after-swap")
    assert killed.returncode == -9
    assert (config.instance_dir / "secrets" / "database.key.new").exists()
    started = build_services(Config.from_environment(environment(config)), load_policies(config.policies_dir),
                             found.clock)
    started.engine.dispose()
    assert_sound_under_the_new_key_only(config, [config.secrets.database.value])


def test_postgresql_says_encryption_is_the_operators_and_exits_non_zero(config):
    env = {**environment(config), "CASEFEEDBACK_DATABASE_URL": "postgresql://casefeedback@db.example/casefeedback"}
    result = subprocess.run([sys.executable, "-m", "casefeedback", "keys", "rekey-db", "--yes"], cwd=ROOT, env=env,
                            text=True, capture_output=True, check=False)
    assert result.returncode == 1
    assert "on PostgreSQL, encryption of the database at rest is the operator's" in result.stderr
    assert key_on_disk(config) == config.secrets.database.value
    assert not (config.instance_dir / "secrets" / "database.key.new").exists()


def test_a_key_from_the_environment_is_refused_clearly(config):
    env = {**environment(config), "CASEFEEDBACK_DATABASE_KEY": config.secrets.database.value.hex()}
    result = subprocess.run([sys.executable, "-m", "casefeedback", "keys", "rekey-db", "--yes"], cwd=ROOT, env=env,
                            text=True, capture_output=True, check=False)
    assert result.returncode == 1 and "CASEFEEDBACK_DATABASE_KEY" in result.stderr
    assert "Traceback" not in result.stderr
