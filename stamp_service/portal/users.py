"""User accounts: the office creates them and sets roles."""

from __future__ import annotations

from flask import render_template, url_for

from ..auth import users
from ..auth.access import roles
from ..context import get_storage
from ..registry import producers
from . import bp
from .forms import form_page


@bp.route("/portal/users")
@roles("admin")
def user_list() -> str:
    """All accounts."""
    storage = get_storage()
    rows = storage.find("users", order_by="email")
    names = {p["id"]: p["name"] for p in producers.list_all(storage)}
    return render_template("portal/users.html", users=rows, producer_names=names)


@bp.route("/portal/users/new", methods=["GET", "POST"])
@roles("admin")
def user_new():
    """Create an account."""
    storage = get_storage()
    return form_page(
        "portal/user_form.html",
        lambda data: users.create(storage, data),
        initial={"role": "producer"},
        done=lambda row: url_for("portal.user_list"),
        producers=producers.list_all(storage),
        user=None,
    )


@bp.route("/portal/users/<int:user_id>/edit", methods=["GET", "POST"])
@roles("admin")
def user_edit(user_id: int):
    """Change an account's role, producer, password or disabled flag."""
    storage = get_storage()
    user = users.public(users.get(storage, user_id))
    return form_page(
        "portal/user_form.html",
        lambda data: users.update(storage, user_id, {"disabled": 0, **data}),
        initial=user,
        done=lambda row: url_for("portal.user_list"),
        producers=producers.list_all(storage),
        user=user,
    )
