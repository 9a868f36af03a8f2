"""Invariant 1: no plaintext of a sensitive field in the database file, its WAL, or the logs."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import canary
from tests.helpers import ServiceUser
from tests.stores import store_files


def files_of(config) -> list[Path]:
    found = store_files(config)
    logs = list((config.instance_dir / "logs").glob("*")) if (config.instance_dir / "logs").exists() else []
    return found + logs


def assert_nowhere(config, canaries: list[str]) -> None:
    for path in files_of(config):
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # PostgreSQL recycled a WAL segment (renamed it) while we looked
            continue
        for secret in canaries:
            for encoding in ("utf-8", "utf-16-le"):
                assert secret.encode(encoding) not in data, f"{secret} found in {path.name}"


def test_canaries_never_reach_the_database_file_its_wal_or_the_logs(app, client, config, found):
    canaries = []
    for _ in range(5):
        secret_a, secret_b = canary(), canary()
        canaries += [secret_a, secret_b]
        ServiceUser(app.test_client()).give_feedback(
            {"anything_else": f"My story {secret_a}", "safer": secret_b, "treated": "2"})
    # The WAL holds the newest pages before a checkpoint: look at it as it is...
    wal = config.database_path.with_name(config.database_path.name + "-wal")
    assert wal.exists() and wal.stat().st_size > 0
    assert_nowhere(config, canaries)
    # ...and after a checkpoint has copied everything into the main file.
    raw = found.engine.raw_connection()
    try:
        raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
    assert_nowhere(config, canaries)


def test_canary_never_reaches_a_url_a_header_or_the_page_title(client):
    secret = canary()
    user = ServiceUser(client)
    user.consent("store")
    user.answer_all({"anything_else": secret})
    response = user.send()
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert secret not in body  # the confirmation does not echo what was said
    assert all(secret not in value for _name, value in response.headers.items())
    assert "<title>Feedback</title>" in body
