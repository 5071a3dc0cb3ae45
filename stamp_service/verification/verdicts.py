"""The verdicts a verifier returns, the same machine names everywhere, and their reasons."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..i18n import Message

GOOD = ("genuine", "warning")
BAD = ("suspected-copy", "not-activated", "recalled", "certificate-expired", "certificate-revoked", "key-revoked",
       "unknown-key", "invalid-signature", "malformed")
# A typed serial whose check digit does not match (or is missing): the number was mistyped, which says nothing
# about the stamp, so it is neither good nor bad and never counts as a counterfeit.
MISTYPED = "mistyped"
VERDICTS = GOOD + BAD + (MISTYPED,)
# What the banner looks like: ok (green), caution (amber), bad (red).
TONE = {"genuine": "ok", "warning": "caution", "not-activated": "caution", MISTYPED: "caution",
        **{v: "bad" for v in BAD if v != "not-activated"}}
# Bad verdicts about a stamp of ours whose records we still show: the product card below the banner is muted
# (grey stars, no green "valid") because the pack in the shopper's hands is not what those records vouch for.
MUTED = ("suspected-copy", "recalled", "certificate-expired", "certificate-revoked", "key-revoked")


@dataclass(frozen=True)
class Reason:
    """Why a verdict was given: a machine code and a message in the reader's language."""

    code: str
    message: Message

    def as_dict(self, lang: str | None = None) -> dict[str, Any]:
        """For JSON."""
        return {"code": self.code, "message": self.message.render(lang)}


def reason(code: str, **params: Any) -> Reason:
    """A reason whose message is the catalog entry 'reason.<code>'."""
    return Reason(code, Message(f"reason.{code}", params))


@dataclass
class Verdict:
    """The outcome of one verification."""

    name: str
    reasons: list[Reason] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.name not in VERDICTS:
            raise ValueError(f"unknown verdict {self.name!r}")

    @property
    def tone(self) -> str:
        """ok, caution or bad."""
        return TONE[self.name]
