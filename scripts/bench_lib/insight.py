# bench: insight page for 200 000 submissions' contributions over 24 months (render p50/p99 ms; target < 300)
"""Benchmark the insight page.

A throwaway instance gets --submissions submissions from people who agreed to
share insight, each answering every insight question, spread over --months
months and over cases of three teams. They are stored through intake's own
``record_submissions``, which writes their de-identified contributions and the
pre-aggregated insight_counts exactly as a send does. Then an analyst signs in
(password and TOTP, as a person would) and the insight page for the whole period, all teams, is requested
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import ROOT, install_signal_handlers, machine, write_json

SERVICE = "victim-support"
TEAMS = ("North", "South", "East")
BATCH = 2000
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


def _seed(found: Any, case_ids: list[str], submissions: int, months: int, *, share: bool = True,
          seed: int = 7) -> float:
    """Store ``submissions`` on these cases through intake's service, BATCH to a transaction; the seconds it took."""
    from casefeedback.insight.report import insight_questions
    from casefeedback.intake.submissions import ConsentGiven, Sent, record_submissions

    policy = found.policies.service(SERVICE)
    questions = [(q.id, q.option_ids()) for q in insight_questions(policy)]
    now = found.clock()
    rng = random.Random(seed)
    started = time.perf_counter()
    for start in range(0, submissions, BATCH):
        sent = []
        for _ in range(min(BATCH, submissions - start)):
            at = _moment_in_month(now, rng.randrange(months), rng)
            consent = ConsentGiven(policy.consent.version, "en",
                                   {"store": True, "contact_me": rng.random() < 0.5, "share_insight": share})
            given = _calm_answers(policy, questions, rng)
            sent.append(Sent(str(uuid.uuid4()), given, consent, consent_given_at=at, submitted_at=at, language="en",
                             case_id=rng.choice(case_ids)))
        record_submissions(found, policy, sent)
    return time.perf_counter() - started


def _calm_answers(policy: Any, questions: list[tuple[str, tuple[str, ...]]], rng: random.Random) -> dict[str, str]:
    """A random answer to each insight question, drawn again while the answers would raise an alert.

    Alerts are not what this measures, and raising (and routing) one for every third
    submission would take most of the seeding time.
    """
    from casefeedback.alerts.rules import matching_rules

    while True:
        given = {question_id: rng.choice(options) for question_id, options in questions}
        if not matching_rules(policy, given):
            return given


def _team_cases(found: Any) -> list[str]:
    """A caseworker and a case in each of the teams: a contribution is counted under its case's team."""
    from casefeedback.auth import accounts
    from casefeedback.auth.sessions import StaffMember
    from casefeedback.casework.cases import create_case
    from casefeedback.storage.engine import write

    case_ids = []
    with write(found.engine) as connection:
        for name in TEAMS:
            team_id = accounts.ensure_team(connection, name)
            username, display_name = f"bench-{name.lower()}", f"{name} caseworker"
            staff_id = accounts.add_staff(connection, username=username, display_name=display_name,
                                          role="caseworker", password=uuid.uuid4().hex, now=found.clock(),
                                          team_id=team_id)
            member = StaffMember(staff_id, username, display_name, "caseworker", team_id)
            case_ids.append(create_case(connection, member=member, service_id=SERVICE, reference=f"BENCH-{name}",
                                        now=found.clock()))
    return case_ids


def _moment_in_month(now: datetime, back: int, rng: random.Random) -> datetime:
    """A random moment in the month ``back`` months before ``now``'s (never after ``now``)."""
    index = now.year * 12 + now.month - 1 - back
    first = datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)
    following = datetime((index + 1) // 12, (index + 1) % 12 + 1, 1, tzinfo=UTC)
    return first + (min(following, now) - first) * rng.random()


def _sign_in(app: Any) -> Any:
    import pyotp

    from casefeedback.auth import accounts, mfa
    from casefeedback.storage.engine import write

    found = app.extensions["casefeedback"]
    password = uuid.uuid4().hex
    with write(found.engine) as connection:
        staff_id = accounts.add_staff(connection, username="bench-analyst", display_name="Bench", role="analyst",
                                      password=password, now=found.clock(), team_id=None)
        secret = mfa.enrol_without_code(connection, staff_id, found.clock())
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
                        help="also store as many submissions from people who did not agree to share insight "
                             "(the page counts every submission)")
    args = parser.parse_args()
    install_signal_handlers()
    with tempfile.TemporaryDirectory(prefix="casefeedback-bench-insight-") as directory:
        app = _app(Path(directory) / "instance")
        found = app.extensions["casefeedback"]
        case_ids = _team_cases(found)
        seconds = _seed(found, case_ids, args.submissions, args.months)
        print(f"seeded {args.submissions} submissions' contributions in {seconds:.1f} s")
        if args.with_submissions:
            print(f"seeded as many submissions again, not shared for insight, in "
                  f"{_seed(found, case_ids, args.submissions, args.months, share=False, seed=11):.1f} s")
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
