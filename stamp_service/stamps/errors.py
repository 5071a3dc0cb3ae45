"""Why a stamp was refused. Each error names the verdict a verifier shows; "malformed" is not "did not verify"."""

from __future__ import annotations


class StampError(Exception):
    """A stamp that is not a good stamp of ours; .verdict is the machine name, .message says why."""

    verdict = "malformed"
    default = "not a stamp of ours"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default
        super().__init__(self.message)


class MalformedStamp(StampError):
    """Cannot be parsed: not our URL, not digits, not COSE, or claims that break the format."""

    verdict = "malformed"
    default = "the code cannot be read as a stamp"


class MistypedSerial(MalformedStamp):
    """A typed serial with a wrong or missing check digit, or too few digits: a slip of the finger, not a fake."""

    verdict = "mistyped"
    default = "the serial's check digit does not match: a digit was mistyped or left out"


class UnknownKey(StampError):
    """Signed with a key we never published, or issued outside its key's validity window."""

    verdict = "unknown-key"
    default = "signed with a key that is not ours"


class KeyRevoked(StampError):
    """Signed with a key that has been revoked: every stamp of that key is refused."""

    verdict = "key-revoked"
    default = "the signing key has been revoked"


class InvalidSignature(StampError):
    """The signature does not match the stamp's content (altered or forged)."""

    verdict = "invalid-signature"
    default = "the signature does not match: the stamp was altered or forged"
