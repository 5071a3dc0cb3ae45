"""The inspectors' and office's pages under /inspect/: checks in a shop, visits, cases, a stamp's whole history,
the reports inbox and the dashboard. Staff only, so they sit with the portal (its base template, its script and
stylesheet), not with the shoppers' light public pages in verify_web/."""

from flask import Blueprint

bp = Blueprint("inspect", __name__)

from . import case_pages, dashboard, inspector, report_inbox, visits  # noqa: E402,F401
