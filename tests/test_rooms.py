"""Rooms that match their names: verify_web/ holds only what a shopper sees; the staff pages under /inspect/ live
with the portal (stamp_service/portal/inspect/)."""

from __future__ import annotations

from pathlib import Path

from stamp_service.auth.access import PUBLIC, access_of

ROOT = Path(__file__).resolve().parents[1]


def _rules(app):
    return [(rule, app.view_functions[rule.endpoint]) for rule in app.url_map.iter_rules()]


def test_no_route_from_verify_web_needs_a_sign_in(app):
    public_room = [(rule, view) for rule, view in _rules(app)
                   if rule.endpoint.startswith("verify_web.") or view.__module__.startswith("verify_web")]
    assert len(public_room) >= 10  # the verify page, /check, reports, claims, Digital Link, keys, probes, ...
    needing = [rule.rule for rule, _ in public_room if access_of(app, rule.endpoint) != PUBLIC]
    assert needing == [], f"verify_web serves pages that need a sign-in: {needing}"
    assert all(rule.endpoint.startswith("verify_web.") for rule, _ in public_room)


def test_every_inspect_route_is_served_by_the_staff_room(app):
    staff = [(rule, view) for rule, view in _rules(app) if rule.rule.startswith("/inspect")]
    assert len(staff) >= 19
    for rule, view in staff:
        assert rule.endpoint.startswith("inspect."), rule.endpoint
        assert view.__module__.startswith("stamp_service.portal.inspect."), (rule.rule, view.__module__)
        assert access_of(app, rule.endpoint) == frozenset({"admin", "inspector"}), rule.rule
    # and the room serves nothing outside /inspect/
    outside = [rule.rule for rule, _ in _rules(app) if rule.endpoint.startswith("inspect.")
               and not rule.rule.startswith("/inspect/")]
    assert outside == []


def test_verify_web_holds_no_staff_code_or_templates():
    """A reader of verify_web/ sees only what the public sees: no role checks, no staff templates or scripts."""
    room = ROOT / "verify_web"
    assert not list(room.rglob("templates/inspect/*")) and not list(room.rglob("inspect.js"))
    for path in room.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "import roles" not in text and "@roles(" not in text, path


def test_the_staff_pages_still_answer_at_their_addresses(login):
    inspector = login("inspector")
    home = inspector.get("/inspect/")
    assert home.status_code == 200
    html = home.get_data(as_text=True)
    assert '<script src="/static/inspect.js" defer></script>' in html  # served with the portal's own files
    assert inspector.get("/static/inspect.js").status_code == 200
    assert login(None).get("/inspect/").status_code == 302  # still staff only
