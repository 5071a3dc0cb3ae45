"""Inbound SMS from the gateway: a shopper without a camera texts a serial (and the hidden code); the gateway
posts it here with its own token (role gateway, nothing else) and sends our reply back as one plain SMS."""

from __future__ import annotations

from flask import current_app, jsonify, request
from werkzeug.wrappers import Response

from ..auth.access import needs_scope, roles
from ..context import get_storage
from ..registry.fields import Field, Schema, ValidationError
from ..signing_keys import keystore
from ..verification import claims, sms
from ..verification.claim_requests import limits, verdict_for_sms
from ..verification.scans import ScanContext
from . import bp
from .body import json_object

MAX_BODY = 8 * 1024  # one SMS, even a long concatenated one, is far smaller
SCHEMA = Schema("SmsInbound", (
    Field("from", required=True, max_length=32, description="The sender's number (+84...)", example="+84912345678"),
    Field("text", "text", max_length=1000, description="The message as received", example="OCOP 000001-3 12345678"),
))


def answer(text: str, sender: str) -> str:
    """The reply to one message from the sender with this hash."""
    inbound = sms.parse(text)
    if inbound.serial_text is None:
        return sms.help_reply()
    # The sender is the "household" of an SMS: one phone, known by its hash; the gateway's network means nothing.
    context = ScanContext(device=None, net_hash=None, ua_family="SMS", household=f"sms:{sender}")
    outcome = verdict_for_sms(inbound.serial_text, context)
    if outcome.claims is None:
        return sms.not_ours(inbound.serial_text)
    serial = outcome.claims.serial
    if inbound.hidden_text is None:
        return sms.verdict_reply(outcome, serial, sms.status_tail(outcome.run, outcome.claim, serial))
    try:
        result = claims.claim(get_storage(), keystore(), inbound.serial_text, inbound.hidden_text, channel="sms",
                              context=context, limits=limits(), sender_hash=sender)
        tail = sms.claim_tail(result)
    except claims.HiddenCodeFormat:
        tail = [sms.text("sms.code_format")]
    except claims.NoHiddenCode:
        tail = [sms.text("sms.no_hidden")]
    except claims.Limited as exc:
        tail = [sms.text(exc.key, **exc.params)]
    except (claims.UnknownStamp, claims.MalformedCode):  # the verdict found the stamp, so this is a race at most
        return sms.not_ours(inbound.serial_text)
    return sms.verdict_reply(outcome, serial, tail)


@bp.route("/sms/inbound", methods=["POST"])
@roles("gateway")
@needs_scope("gateway")
def sms_inbound() -> Response:
    """One inbound SMS, JSON {"from", "text"}: {"reply"}, one GSM-7 message of at most 160 characters."""
    request.max_content_length = MAX_BODY
    body = json_object()
    if isinstance(body.get("text"), str):
        # GSM 03.38 codes "@" as 0x00: a gateway that passes the septets through as ASCII sends it as NUL, which
        # no text field accepts. It is an "@" the shopper typed, not a malformed request.
        body = {**body, "text": body["text"].replace("\x00", "@")}
    values = SCHEMA.clean(body)
    number = sms.normalise_number(values["from"])
    if number is None:
        raise ValidationError.single("from", "sms.sender_invalid")
    sender = sms.sender_hash(number, current_app.config["SECRET_KEY"])
    response = jsonify(reply=answer(values.get("text") or "", sender))
    response.headers["Cache-Control"] = "no-store, max-age=0"
    return response
