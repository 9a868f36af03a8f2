# bench: insight page for 200 000 submissions' contributions over 24 months (render p50/p99 ms; target < 300)
"""Benchmark the insight page.

A throwaway instance gets --submissions submissions' de-identified
contributions (one per insight question each: the shape retention writes),
spread over --months months and three teams, written directly into
insight_contributions and, exactly as retention does, into the pre-aggregated
insight_counts. Then an analyst signs in (password and TOTP, as a person
would) and the insight page for the whole period, all teams, is requested
--requests times in-process; p50/p99 of the full request (filters, queries,
suppression, SVG, template) are printed and written to bench-results/insight.json.
Nothing is asserted.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from common import ROOT, install_signal_handlers, machine, write_json

SERVICE = "victim-support"
TEAMS = ("North", "South", "East")
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def _app(instance: Path) -> Any:
    sys.path.insert(0, str(ROOT))
    from casefeedback import create_app
    from casefeedback.bootstrap import create_or_upgrade_database, create_secrets
    from casefeedback.config import Config
    from casefeedback.instance import load_secrets

    create_secrets(instance, "development")
    config = Config(env="testing", instance_dir=instance, policies_dir=ROOT / "policies",
                    secrets=load_secrets(instance, {}), secure_cookies=False,
                    log_path=instance / "logs" / "casefeedback.log")
    config = replace(config)
    create_or_upgrade_database(config)
    return create_app(config)


def _seed(found: Any, submissions: int, months: int) -> float:
    from casefeedback.auth import accounts
    from casefeedback.insight.counts import add_counts
    from casefeedback.insight.report import insight_questions
    from casefeedback.storage.engine import write
    from casefeedback.storage.tables import insight_contributions

    policy = found.policies.service(SERVICE)
    questions = [(q.id, q.option_ids()) for q in insight_questions(policy)]
    now = found.clock()
    index = now.year * 12 + now.month - 1
    month_names = [f"{(index - i) // 12:04d}-{(index - i) % 12 + 1:02d}"
                   for i in range(months)]
    rng = random.Random(7)
    started = time.perf_counter()
    with write(found.engine) as connection:
        team_ids = [accounts.ensure_team(connection, name) for name in TEAMS]
    batch = 5000
    for start in range(0, submissions, batch):
        rows, keys = [], []
        for _ in range(min(batch, submissions - start)):
            month, team = rng.choice(month_names), rng.choice(team_ids)
            for question_id, options in questions:
                answer = rng.choice(options)
                rows.append({"id": str(uuid.uuid4()), "service_id": SERVICE, "month": month,
                             "question_id": question_id, "answer": answer})
                keys.append((SERVICE, team, month, question_id, answer))
        with write(found.engine) as connection:
            connection.execute(insight_contributions.insert(), rows)
            add_counts(connection, keys)
    return time.perf_counter() - started


def _seed_submissions(found: Any, submissions: int, months: int) -> float:
    """Submission rows with consent receipts (no answers: the page only counts them), one per contribution set."""
    import json
    import secrets
    from datetime import timedelta

    from casefeedback.storage.engine import write
    from casefeedback.storage.tables import consent_receipts
    from casefeedback.storage.tables import submissions as submissions_table

    policy = found.policies.service(SERVICE)
    now = found.clock()
    rng = random.Random(11)
    choices = [json.dumps({"store": True, "contact_me": rng.random() < 0.5, "share_insight": share})
               for share in (True, False)]
    started = time.perf_counter()
    for start in range(0, submissions, 5000):
        subs, receipts = [], []
        for _ in range(min(5000, submissions - start)):
            sid, at = str(uuid.uuid4()), now - timedelta(days=rng.uniform(0, months * 30.4))
            subs.append({"id": sid, "service_id": SERVICE, "policy_version": policy.version, "case_id": None,
                         "language": "en", "submitted_at": at, "status": "active",
                         "receipt_hash": secrets.token_hex(32)})
            receipts.append({"id": str(uuid.uuid4()), "submission_id": sid, "consent_version": 1, "language": "en",
                             "choices": rng.choice(choices), "given_at": at, "withdrawn_at": None})
        with write(found.engine) as connection:
            connection.execute(submissions_table.insert(), subs)
            connection.execute(consent_receipts.insert(), receipts)
    return time.perf_counter() - started


def _sign_in(app: Any) -> Any:
    import pyotp
    from sqlalchemy import update

    from casefeedback.auth import accounts, mfa
    from casefeedback.storage.engine import write
    from casefeedback.storage.tables import staff_mfa

    found = app.extensions["casefeedback"]
    password = uuid.uuid4().hex
    with write(found.engine) as connection:
        staff_id = accounts.add_staff(connection, username="bench-analyst", display_name="Bench", role="analyst",
                                      password=password, now=found.clock(), team_id=None)
        secret = mfa.pending_secret(connection, staff_id)
        connection.execute(update(staff_mfa).where(staff_mfa.c.staff_id == staff_id)
                           .values(enrolled_at=found.clock()))
    client = app.test_client()
    page = client.get("/staff/sign-in").get_data(as_text=True)
    client.post("/staff/sign-in", data={"username": "bench-analyst", "password": password,
                                        "csrf_token": CSRF.search(page).group(1)})
    page = client.get("/staff/sign-in/code").get_data(as_text=True)
    client.post("/staff/sign-in/code", data={"code": pyotp.TOTP(secret).now(),
                                             "csrf_token": CSRF.search(page).group(1)})
    return client


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=200_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--with-submissions", action="store_true",
                        help="also store the submissions and consent receipts themselves (the page counts them)")
    args = parser.parse_args()
    install_signal_handlers()
    with tempfile.TemporaryDirectory(prefix="casefeedback-bench-insight-") as directory:
        app = _app(Path(directory) / "instance")
        found = app.extensions["casefeedback"]
        seconds = _seed(found, args.submissions, args.months)
        print(f"seeded {args.submissions} submissions' contributions in {seconds:.1f} s")
        if args.with_submissions:
            print(f"seeded the submissions and consent receipts in "
                  f"{_seed_submissions(found, args.submissions, args.months):.1f} s")
        client = _sign_in(app)
        now = found.clock()
        last = now.strftime("%Y-%m")
        first_index = now.year * 12 + now.month - 1 - (args.months - 1)
        path = f"/insight/?from={first_index // 12:04d}-{first_index % 12 + 1:02d}&to={last}"
        cold_started = time.perf_counter()
        first = client.get(path)
        cold_ms = (time.perf_counter() - cold_started) * 1000
        print(f"first view (counts the months already over into the monthly cache): {cold_ms:.0f} ms")
        if first.status_code != 200:
            print(f"the insight page answered {first.status_code}; nothing measured", file=sys.stderr)
            return 1
        timings = []
        for _ in range(args.requests):
            started = time.perf_counter()
            response = client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200  # noqa: S101 - a benchmark of an error page would mislead
        found.engine.dispose()
    timings.sort()
    p50 = statistics.median(timings)
    p99 = timings[min(len(timings) - 1, round(0.99 * (len(timings) - 1)))]
    print(f"insight page ({args.months} months, all teams): p50 {p50:.1f} ms, p99 {p99:.1f} ms "
          f"over {len(timings)} requests (target < 300 ms)")
    write_json("insight", {"submissions": args.submissions, "with_submissions": args.with_submissions,
                           "months": args.months, "requests": len(timings),
                           "seed_seconds": round(seconds, 1), "p50_ms": round(p50, 1), "p99_ms": round(p99, 1),
                           "first_view_ms": round(cold_ms),
                           "machine": machine()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
