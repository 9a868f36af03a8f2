"""The demo's duty manager is on the rota, so anonymous demo feedback reaches a person for the demo's first month."""

from __future__ import annotations

from datetime import timedelta

from casefeedback.alerts import rota
from casefeedback.demo import DEMO_SERVICE, seed


def test_dana_is_on_duty_for_victim_support_from_now_for_thirty_days(app, found, clock):
    seed(found, "http://127.0.0.1:5000")
    (service,) = [s for s in rota.board(found).services if s.service_id == DEMO_SERVICE]
    (shift,) = service.now
    assert shift.username == "dana" and shift.starts_at == clock.now
    assert shift.ends_at == clock.now + timedelta(days=30)
    clock.advance(days=30)
    assert next(s for s in rota.board(found).services if s.service_id == DEMO_SERVICE).now == []
