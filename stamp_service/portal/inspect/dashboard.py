"""The provincial office's and inspectors' dashboard: scans, verdicts, where products are scanned, suspicious
stamps, shoppers' reports, certificates due for renewal and cases, with charts drawn on the server."""

from __future__ import annotations

import datetime as dt

from flask import current_app, render_template

from stamp_service.auth.access import roles
from stamp_service.context import get_storage
from stamp_service.i18n import current_language, formats, gettext as _, has_text
from stamp_service.inspection import charts, stats
from stamp_service.verification.verdicts import TONE
from stamp_service import vn_time

from . import bp

STAMP_DETAIL = "inspect.stamp_detail"


def _verdict(name: str) -> str:
    """A verdict's name for inspectors: the shopper's wording, except where two verdicts share it."""
    key = f"dash.verdict.{name}"
    return _(key) if has_text(key) else _(f"verdict.{name}")


@bp.route("/inspect/dashboard")
@roles("admin", "inspector")
def dashboard() -> str:
    """The last 30 days at a glance, and what needs doing next."""
    today = vn_time.today()  # the dashboard counts Vietnam's days, as every page shows times
    data = stats.dashboard(get_storage(), today=today)
    en = current_language() == "en"
    per_day = charts.bar_chart([(formats.short_day(d), n) for d, n in data["scans_per_day"]],
                               title=_("dash.scans_per_day"))
    verdict_chart = charts.hbar_chart([(_verdict(v), n) for v, n in data["verdicts"]],
                                      tones=[TONE[v] for v, _n in data["verdicts"]],
                                      title=_("dash.verdicts"))
    province_charts = [
        (p, charts.hbar_chart([(r["name_en"] if en else r["name"], r["scans"]) for r in p["provinces"]],
                              title=_("dash.provinces_of", product=p["product"])))
        for p in data["provinces"]
    ]
    return render_template(
        "inspect/dashboard.html", d=data, per_day=per_day, verdict_chart=verdict_chart,
        province_charts=province_charts, stamp_links=STAMP_DETAIL in current_app.view_functions,
        case_links="inspect.case_list" in current_app.view_functions, num=formats.number,
    )
