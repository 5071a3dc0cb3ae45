"""The verdicts a verifier returns, the same machine names everywhere, and their reasons."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..i18n import Message

GOOD = ("genuine", "warning")
BAD = ("suspected-copy", "not-activated", "recalled", "certificate-expired", "certificate-revoked", "key-revoked",
       "unknown-key", "invalid-signature", "malformed")
VERDICTS = GOOD + BAD
# What the banner looks like: ok (green), caution (amber), bad (red).
TONE = {"genuine": "ok", "warning": "caution", "not-activated": "caution", **{v: "bad" for v in BAD if v != "not-activated"}}


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
