"""The administrator's read-only page of keys and policy versions in force: ids, hashes and commands, never a key."""

from __future__ import annotations

import base64

from casefeedback.instance import secrets_dir
from tests.casework.support import person


def _page(app) -> str:  # type: ignore[no-untyped-def]
    admin = person(app, "administrator", team=None)
    response = admin.get("/admin/system")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_an_administrator_sees_the_active_key_the_policy_versions_and_the_commands(app, found):
    page = _page(app)
    assert f'<code>{found.keyring.current_active_id}</code></td><td data-label="State">Active</td>' in page
    for policy in found.policies.services.values():
        assert policy.version in page and policy.id in page
    for command in ("casefeedback keys rotate", "casefeedback keys rekey-db", "casefeedback keys status",
                    "casefeedback policy check"):
        assert command in page


def test_the_page_shows_no_key_material(app, found):
    page = _page(app)
    values = [s.value for s in found.config.secrets.keks.values()]
    values += [found.config.secrets.database.value, found.config.secrets.audit_chain.value,
               found.config.secrets.audit_signing.value]
    for path in secrets_dir(found.config.instance_dir).glob("*.key"):
        lines = [line.strip() for line in path.read_text(encoding="ascii").splitlines()]
        values += [bytes.fromhex(line) for line in lines if line and not line.startswith("#")]
    assert len(values) >= 4
    lowered = page.lower()
    for value in values:
        for shown in (value.hex(), base64.b64encode(value).decode(), base64.urlsafe_b64encode(value).decode(),
                      base64.b64encode(value).decode().rstrip("=")):
            assert shown.lower() not in lowered


def test_the_index_links_to_it(app):
    admin = person(app, "administrator", team=None)
    assert 'href="/admin/system"' in admin.get("/admin/").get_data(as_text=True)


def test_other_roles_are_refused(app):
    for role in ("caseworker", "supervisor", "duty_manager", "auditor", "analyst"):
        assert person(app, role).get("/admin/system").status_code == 403, role


def test_the_page_shows_the_erasure_horizon_and_what_holds_it_back(app, found, clock):
    from casefeedback.backup.schedule import keep_horizon

    page = _page(app)
    assert "within 65 days" in page and "casefeedback keys horizon" in page
    assert "Not met" not in page  # a new instance: nothing kept, nothing held back
    done = keep_horizon(found)
    assert done.report is not None and done.report.met
    page = _page(app)
    assert "Every copy this system keeps is within the horizon" in page and "1 kept" in page
    clock.advance(days=40)  # the backup is now past its 35 days, and the key has not changed for 40
    page = _page(app)
    assert "Not met" in page and "is older than 35 days and has not been removed" in page
    assert "has not been changed for 40 days; the policy says every 30 days" in page


def test_after_a_rotation_the_new_key_has_its_origin_and_the_old_one_says_when_it_may_go(app, found, clock):
    """The worker rotates while the web process runs: the page reads the keys afresh, and during the grace
    after a rotation it offers retiring the old key only from the time `keys retire` would allow it."""
    from casefeedback.crypto.rotation import RETIRE_AFTER, rewrap_all, start_rotation

    old = found.keyring.current_active_id
    new, _previous, _left = start_rotation(found.config, found.engine, found.audit)
    rewrap_all(found.config, found.engine, found.audit)
    page = _page(app)
    origin = page.split(f"<code>{new}</code>", 1)[1].split('data-label="Origin">', 1)[1].split("<", 1)[0]
    assert origin and origin != "None"  # as the first key's: where its file came from
    row = page.split(f"<code>{old}</code>", 1)[1].split("</tr>", 1)[0]
    allowed = clock() + RETIRE_AFTER
    assert "Can be retired soon" in row and f"after {allowed:%H:%M} UTC: casefeedback keys retire {old}" in row
    assert "Not met" not in page  # the old key's grace holds nothing back
    clock.advance(seconds=RETIRE_AFTER.total_seconds() + 1)
    row = _page(app).split(f"<code>{old}</code>", 1)[1].split("</tr>", 1)[0]
    assert "Can be retired<" in row and f"<code>casefeedback keys retire {old}</code>" in row
