"""/metrics: hidden without its token or an allowed address; endpoint names, never paths; counts, never content."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from ipaddress import ip_network

import pytest
from prometheus_client.parser import text_string_to_metric_families

from casefeedback.operations import metrics
from casefeedback.worker.registry import jobs
from casefeedback.worker.scheduler import run_all_once
from tests.conftest import ROOT, canary
from tests.helpers import ServiceUser
from tests.operations.conftest import TOKEN

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


def gauge(body: str, name: str) -> float:
    return samples(body)[(name, ())]


def test_without_the_token_it_does_not_exist(client):
    missing = client.get("/no-such-page")
    for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": f"Basic {TOKEN}"},
                    {"Authorization": f"Bearer {TOKEN}x"}):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 404
        assert response.get_data() == missing.get_data()  # the very page any unknown address gets
    assert client.get("/metrics", headers=AUTH).status_code == 200


def test_an_allowed_address_needs_no_token(app, client, found, monkeypatch):
    def with_allow(networks: str) -> None:
        allow = tuple(ip_network(n) for n in networks.split(","))
        monkeypatch.setitem(app.extensions, "casefeedback",
                            replace(found, config=replace(found.config, metrics_token=None, metrics_allow=allow)))

    with_allow("10.0.0.0/8")
    assert client.get("/metrics").status_code == 404  # the test client comes from 127.0.0.1
    with_allow("10.0.0.0/8,127.0.0.1/32")
    assert client.get("/metrics").status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 404


def test_latency_is_labelled_by_endpoint_never_by_path(client):
    secret = canary()
    client.get(f"/i/{secret}")  # an invitation-like path carrying a token
    client.get("/health/live")
    body = client.get("/metrics", headers=AUTH).get_data(as_text=True)
    assert secret not in body
    counts = samples(body)
    assert counts[("casefeedback_request_duration_seconds_count", (("endpoint", "operations.live"),
                                                                   ("status", "2xx")))] >= 1
    endpoints = {dict(labels).get("endpoint") for (_name, labels) in counts}
    assert all(e is None or e == metrics.UNROUTED or "/" not in e for e in endpoints), endpoints


def test_counts_read_from_the_database_at_scrape_time(client, found, clock):
    body = client.get("/metrics", headers=AUTH).get_data(as_text=True)
    assert gauge(body, "casefeedback_store_up") == 1
    assert gauge(body, "casefeedback_submissions") == 0 and gauge(body, "casefeedback_alerts_open") == 0
    assert gauge(body, "casefeedback_audit_verify_ok") == 1
    assert ("casefeedback_audit_checkpoint_age_seconds", ()) not in samples(body)  # none signed yet

    secret = canary()
    ServiceUser(client).give_feedback({"safer": secret, "anything_else": f"I want to die {secret}",
                                       "safe_now": "no"})
    run_all_once(found, [job for job in jobs() if job.id in ("audit.checkpoint", "worker.heartbeat")])
    clock.advance(days=1)  # past any acknowledgement time
    body = client.get("/metrics", headers=AUTH).get_data(as_text=True)
    assert secret not in body
    assert gauge(body, "casefeedback_submissions") == 1
    assert gauge(body, "casefeedback_alerts_open") >= 1
    assert gauge(body, "casefeedback_alerts_overdue") == gauge(body, "casefeedback_alerts_open")
    assert gauge(body, "casefeedback_deliveries_failed") == 0
    assert gauge(body, "casefeedback_purge_backlog_keys") == 0
    assert gauge(body, "casefeedback_audit_checkpoint_age_seconds") == pytest.approx(86_400, abs=5)
    assert gauge(body, "casefeedback_worker_heartbeat_age_seconds") == pytest.approx(86_400, abs=5)


MULTIPROCESS_CHILD = """
import sys
from casefeedback.operations import metrics
for _ in range(int(sys.argv[1])):
    metrics.observe_request("intake.send", 303, 0.02)
"""


@pytest.mark.parametrize("config", ["sqlcipher"], indirect=True)
def test_several_processes_add_up_in_multiprocess_mode(found, tmp_path, monkeypatch):
    # As under gunicorn: each worker process writes its own histogram files; one scrape sums them all.
    directory = tmp_path / "metrics"
    directory.mkdir()
    env = {**os.environ, metrics.MULTIPROCESS_ENV: str(directory)}
    for count in (3, 4):
        subprocess.run([sys.executable, "-c", MULTIPROCESS_CHILD, str(count)], cwd=ROOT, env=env, check=True,
                       timeout=60)
    monkeypatch.setenv(metrics.MULTIPROCESS_ENV, str(directory))
    counts = samples(metrics.render(found).decode())
    assert counts[("casefeedback_request_duration_seconds_count",
                   (("endpoint", "intake.send"), ("status", "3xx")))] == 7
    assert counts[("casefeedback_submissions", ())] == 0  # the database's counts are there too


@pytest.mark.parametrize("config", ["sqlcipher"], indirect=True)
def test_the_settings_are_read_and_checked(config):
    from casefeedback.config import Config, ConfigError

    base = {"CASEFEEDBACK_INSTANCE": str(config.instance_dir), "CASEFEEDBACK_POLICIES": str(config.policies_dir)}
    read_back = Config.from_environment({**base, "CASEFEEDBACK_METRICS_TOKEN": TOKEN,
                                         "CASEFEEDBACK_METRICS_ALLOW": "127.0.0.1/32, 10.0.0.0/8,::1"})
    assert read_back.metrics_token == TOKEN and TOKEN not in repr(read_back)
    assert [str(n) for n in read_back.metrics_allow] == ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]
    nobody = Config.from_environment(base)
    assert nobody.metrics_token is None and nobody.metrics_allow == ()
    with pytest.raises(ConfigError, match="at least 32") as short:
        Config.from_environment({**base, "CASEFEEDBACK_METRICS_TOKEN": "short-token"})
    assert "short-token" not in str(short.value)
    with pytest.raises(ConfigError, match="not an address or network"):
        Config.from_environment({**base, "CASEFEEDBACK_METRICS_ALLOW": "10.0.0.0/33"})
