"""The role matrix: every route, every method, five callers. The table below is the specification; a route
missing from it fails the test, so no route can be added without deciding who may call it."""

from __future__ import annotations

import pytest

PUBLIC = "public"
ALL = {"admin", "inspector", "producer"}
# "producer" alone means: a producer may call it, and only for its own records (producer B gets 404 on A's).
ACCESS: dict[str, object] = {
    "static": PUBLIC,
    "verify_web.index": PUBLIC,
    "verify_web.health": PUBLIC,
    "verify_web.ready": PUBLIC,
    "verify_web.jwks": PUBLIC,
    "verify_web.static": PUBLIC,
    "verify_web.stamp": PUBLIC,
    "verify_web.typed": PUBLIC,
    "verify_web.report": PUBLIC,
    "verify_web.share_province": PUBLIC,
    "verify_web.claim": PUBLIC,
    "portal.product_thumbnail": PUBLIC,
    "verify_web.report_form": PUBLIC,
    "verify_web.picture": PUBLIC,
    "portal.decision_scan": PUBLIC,
    "portal.decision_scan_upload": {"admin"},
    "portal.product_photo": {"admin", "producer"},
    "api.verify": PUBLIC,
    "api.claim": PUBLIC,
    # The SMS gateway's one route; a gateway token opens nothing else, and a gateway cannot sign in to pages.
    "api.sms_inbound": {"gateway"},
    "inspect.inspect_home": {"admin", "inspector"},
    "inspect.dashboard": {"admin", "inspector"},
    "inspect.inspect_check": {"admin", "inspector"},
    "inspect.inspect_photo": {"admin", "inspector"},
    "inspect.stamp_detail": {"admin", "inspector"},
    "inspect.suspicion_dismiss": {"admin", "inspector"},
    "inspect.batch_overview": {"admin", "inspector"},
    "inspect.producer_overview": {"admin", "inspector"},
    "inspect.inspect_media": {"admin", "inspector"},
    "inspect.visit_list": {"admin", "inspector"},
    "inspect.visit_detail": {"admin", "inspector"},
    "inspect.visit_close": {"admin", "inspector"},
    "inspect.visit_csv": {"admin", "inspector"},
    "inspect.visit_pdf": {"admin", "inspector"},
    "inspect.case_list": {"admin", "inspector"},
    "inspect.case_detail": {"admin", "inspector"},
    "inspect.report_list": {"admin", "inspector"},
    "inspect.report_detail": {"admin", "inspector"},
    "inspect.report_case": {"admin", "inspector"},
    "portal.my_reports": {"producer"},
    "portal.password_change": {"admin", "producer", "inspector"},
    "portal.user_reset_link": {"admin"},
    "portal.password_reset": PUBLIC,
    "api.decode": {"admin", "inspector"},
    "api.stamp_history": {"admin", "inspector"},
    "api.case_list": {"admin", "inspector"},
    "api.case_create": {"admin", "inspector"},
    "api.case_get": {"admin", "inspector"},
    "api.case_update": {"admin", "inspector"},
    "portal.login": PUBLIC,
    "portal.set_language": PUBLIC,
    "portal.product_image": PUBLIC,
    "portal.logout": ALL,
    "portal.home": ALL,
    "portal.producer_list": {"admin", "inspector"},
    "portal.producer_new": {"admin"},
    "portal.producer_detail": ALL,
    "portal.producer_edit": {"admin"},
    "portal.product_list": ALL,
    "portal.product_new": {"admin"},
    "portal.product_detail": ALL,
    "portal.product_edit": {"admin"},
    "portal.recognition_new": {"admin"},
    "portal.recognition_revoke": {"admin"},
    "portal.batch_list": ALL,
    "portal.batch_new": {"admin", "producer"},
    "portal.batch_detail": ALL,
    "portal.batch_edit": {"admin", "producer"},
    "portal.run_new": {"admin", "producer"},
    "portal.run_detail": ALL,
    "portal.run_preview": {"admin", "producer"},
    "portal.run_print_preview": {"admin", "producer"},
    "portal.run_pdf": {"admin", "producer"},
    "portal.run_test_page": {"admin", "producer"},
    "portal.run_codes_csv": {"admin", "producer"},
    "portal.run_state": {"admin", "producer"},
    "portal.user_list": {"admin"},
    "portal.user_new": {"admin"},
    "portal.user_edit": {"admin"},
    "portal.import_page": {"admin"},
    "portal.import_template": {"admin"},
    # a producer's label artwork: the producer itself (or the office) uploads; staff may look
    "portal.producer_logo": {"admin", "producer"},
    "portal.producer_mark": {"admin", "producer"},
    "portal.producer_artwork": ALL,
    "api.openapi_json": PUBLIC,
    "api.province_list": PUBLIC,
    "api.province_communes": PUBLIC,
    "api.commune_get": PUBLIC,
    "api.me": ALL,
    "api.import_file": {"admin"},
    "api.recognition_revoke": {"admin"},
    **{f"api.{r}_{op}": ALL for r in ("producers", "products", "recognitions", "batches") for op in ("list", "get")},
    **{f"api.{r}_{op}": {"admin"} for r in ("producers", "products", "recognitions") for op in ("create", "update")},
    "api.run_create": {"admin", "producer"},
    "api.run_list": ALL,
    "api.run_get": ALL,
    "api.run_codes": {"admin", "producer"},
    "api.run_digital_link": {"admin", "producer"},
    "api.run_activate": {"admin", "producer"},
    "api.run_void": {"admin", "producer"},
    "api.batch_recall": {"admin"},
    "api.batches_create": {"admin", "producer"},
    "api.batches_update": {"admin", "producer"},
    **{f"api.users_{op}": {"admin"} for op in ("list", "get", "create", "update")},
    # the traceability record: the batch's producer (or the office) writes it, staff read it, the passport and
    # Digital Link pages are public
    "api.batch_events": ALL,
    "api.batch_event_add": {"admin", "producer"},
    "api.batch_epcis": ALL,
    "api.batch_epcis_import": {"admin", "producer"},
    "api.passport": PUBLIC,
    "portal.stage_new": {"admin", "producer"},
    "api.batch_events_import": {"admin", "producer"},
    "portal.stage_import_page": {"admin", "producer"},
    "portal.stage_import_template": {"admin", "producer"},
    "verify_web.digital_link_page": PUBLIC,
}
# Routes where producer B asking for producer A's record must get 404 (it exists, but is not theirs).
OWNED = {
    "portal.producer_detail", "portal.product_detail", "portal.batch_detail", "portal.batch_edit",
    "api.producers_get", "api.products_get", "api.recognitions_get", "api.batches_get", "api.batches_update",
    "api.run_create", "api.run_get", "api.run_codes", "api.run_digital_link", "api.run_activate", "api.run_void",
    "portal.run_detail", "portal.run_preview", "portal.run_pdf", "portal.run_test_page", "portal.run_state",
    "portal.run_new", "portal.run_print_preview", "portal.run_codes_csv", "portal.product_photo",
    "api.batch_events", "api.batch_event_add", "api.batch_epcis", "api.batch_epcis_import", "portal.stage_new",
    "api.batch_events_import", "portal.stage_import_page",
    "portal.producer_logo", "portal.producer_mark", "portal.producer_artwork",
}
CALLERS = ("anonymous", "producer_a", "producer_b", "inspector", "admin", "gateway")


def _url(rule, world) -> str:
    """The rule's URL with ids of producer A's records."""
    values = {}
    for arg in rule.arguments:
        if arg == "record_id":
            kind = rule.endpoint.split(".")[1].split("_")[0]
            values[arg] = {"producers": world.producer_a, "products": world.product_a, "recognitions": world.recognition_a,
                           "recognition": world.recognition_a, "batches": world.batch_a,
                           "users": world.users["producer_a"]}[kind]
        elif arg == "kind" and rule.endpoint == "inspect.inspect_media":
            values[arg] = "cases"
        elif arg == "kind" and rule.endpoint == "verify_web.picture":
            values[arg] = "product"
        elif arg == "name" and rule.endpoint == "portal.producer_artwork":
            values[arg] = getattr(world, "artwork", "none.jpg")
        else:
            values[arg] = {"producer_id": world.producer_a, "product_id": world.product_a, "batch_id": world.batch_a,
                           "rec_id": world.recognition_a, "user_id": world.users["producer_a"], "code": "22",
                           "kind": "producers", "filename": "portal.css", "run_id": world.run_a, "short": "S",
                           "payload": "123", "serial": world.first_serial, "visit_id": world.visit,
                           "case_id": world.case, "name": world.case_photo, "suspicion_id": 1,
                           "item_id": world.product_a, "rest": "08938505974194/10/A-001",
                           "report_id": 1, "token": "not-a-reset-token"}[arg]
    return rule.build(values, append_unknown=False)[1]


def _cases(app):
    # signing out ends the session, so it goes last
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint == "portal.logout", r.rule)):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_is_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(ACCESS), f"routes missing from ACCESS: {endpoints - set(ACCESS)}; stale: {set(ACCESS) - endpoints}"


@pytest.mark.parametrize("caller", CALLERS)
def test_role_matrix(app, world, login, api, caller):
    role = {"producer_a": "producer", "producer_b": "producer"}.get(caller, caller)
    # A gateway account has a token but no portal sign-in (test_gateway_cannot_sign_in): pages see it as anonymous.
    session = login(None if caller in ("anonymous", "gateway") else caller)
    call_api = api(None if caller == "anonymous" else caller)
    with app.app_context():  # a raised copy suspicion, for the route that dismisses it
        from stamp_service.context import get_storage

        get_storage().insert("suspicions", {"id": 1, "serial": world.first_serial, "run_id": world.run_a,
                                            "rule": "sheet", "evidence": "{}", "households": 5, "networks": 4})
        get_storage().insert("reports", {"id": 1, "what": "Tem mờ", "serial": world.first_serial})
        # producer A's logo, for the route that shows its label artwork
        from pathlib import Path

        from PIL import Image

        from stamp_service.media import save_image
        from stamp_service.printing import artwork_folder
        from stamp_service.registry import label_marks

        world.artwork = save_image(Image.new("RGB", (8, 8)), artwork_folder(Path(app.instance_path)))
        label_marks.set_logo(get_storage(), world.producer_a, world.artwork)
        # a GTIN for product A, for the route that gives its lot's GS1 Digital Link
        from stamp_service.registry import products

        products.update(get_storage(), world.product_a, {"gtin": "8938505974194"})
    checked = 0
    for rule, method in _cases(app):
        url = _url(rule, world)
        if rule.endpoint == "api.stamp_history":
            url += f"?code={world.first_serial}"  # a required query parameter
        is_api = url.startswith("/api/")
        if is_api:
            response = call_api(method, url)
        elif method == "GET":
            response = session.get(url)
        else:
            response = session.post(url)
        status = response.status_code
        allowed = ACCESS[rule.endpoint]
        where = f"{caller} {method} {url} -> {status}"
        assert status < 500, where
        if allowed == PUBLIC:
            assert status not in (401, 403), where
            assert "/login?next" not in response.headers.get("Location", ""), where
        elif caller == "anonymous" or (caller == "gateway" and not is_api):
            if is_api:
                assert status == 401 and response.is_json and "error" in response.get_json(), where
            else:
                assert status == 302 and "/login" in response.headers["Location"], where
        elif role not in allowed:
            assert status == 403, where
        elif caller == "producer_b" and rule.endpoint in OWNED:
            assert status == 404, where
        else:
            assert status not in (401, 403, 404), where
            if method == "GET":
                assert status == 200, where
        checked += 1
    assert checked == sum(1 for _ in _cases(app))


def test_gateway_cannot_sign_in(client):
    from conftest import PASSWORD, csrf_from

    token = csrf_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": "gateway@example.vn", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 400 and "Sai thư điện tử hoặc mật khẩu" in response.get_data(as_text=True)
    assert client.get("/portal/").status_code == 302  # still signed out


def test_unknown_role_declaration_is_refused():
    from stamp_service.auth.access import roles

    with pytest.raises(ValueError):
        roles("superuser")


def test_a_route_without_declared_roles_stops_start_up(app):
    from stamp_service.auth.access import check_every_route_declares_access

    app.add_url_rule("/forgotten", "forgotten", lambda: "x")
    with pytest.raises(RuntimeError, match="forgotten"):
        check_every_route_declares_access(app)
