"""Why a stamp was refused. Each error names the verdict a verifier shows; "malformed" is not "did not verify".

The COSE layer's errors (cose.py) derive from these, so a refusal keeps its class from the decoder to the verdict
and nothing translates one into another."""

from __future__ import annotations

from ..errors import Error


class StampError(Error):
    """A stamp that is not a good stamp of ours; .verdict is the machine name, .message the reader's reason."""

    verdict = "malformed"
    status = 400
    default_detail = "not a stamp of ours"

    @property
    def key(self) -> str:  # type: ignore[override]
        """The catalog entry of the verdict's reason: one text per verdict, whatever the detail."""
        return f"reason.{self.verdict}"


class MalformedStamp(StampError):
    """Cannot be parsed: not our URL, not digits, not COSE, or claims that break the format."""

    verdict = "malformed"
    default_detail = "the code cannot be read as a stamp"


class MistypedSerial(MalformedStamp):
    """A typed serial with a wrong or missing check digit, or too few digits: a slip of the finger, not a fake."""

    verdict = "mistyped"
    default_detail = "the serial's check digit does not match: a digit was mistyped or left out"


class CoseError(StampError):
    """A signed message (COSE_Sign1) that cannot be trusted; cose.verify_sign1 raises only these."""

    default_detail = "The stamp could not be read."


class UnknownKey(CoseError):
    """Signed with a key we never published (or names none), or issued outside its key's validity window."""

    verdict = "unknown-key"
    default_detail = "The stamp was signed with a key we do not know."


class KeyRevoked(StampError):
    """Signed with a key that has been revoked: every stamp of that key is refused."""

    verdict = "key-revoked"
    default_detail = "the signing key has been revoked"


class SignatureMismatch(StampError):
    """The signature does not match the stamp's content (altered or forged): read fine, did not verify."""

    verdict = "invalid-signature"
    default_detail = "the signature does not match: the stamp was altered or forged"
