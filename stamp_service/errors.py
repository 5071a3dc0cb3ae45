"""The one error every domain derives from: a catalog message for people, technical detail for the rest.

Dependency-free on purpose (no Flask, no Babel at import): print_layouts, which must never import Flask, derives
its errors from it too. Each domain declares its errors beside its code (stamps/errors.py, storage/errors.py...);
the web layer maps them all to HTTP in one place (http_errors.py), the CLI prints their detail.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Mapping

if TYPE_CHECKING:
    from .i18n import Message

_NO_FIELDS: Mapping[str, "Message"] = MappingProxyType({})


class Error(Exception):
    """A refusal someone is told about.

    .message is the catalog entry ``key`` with ``params``, rendered in the reader's language when shown; it never
    contains ``detail``, the technical account (English, with ids and file names) for logs, inspectors and the
    CLI. ``status`` is the HTTP status the web answers with, ``fields`` the per-field messages of a form."""

    key: str = "error.http_500"  # a class default; an error may choose its entry per instance
    status: ClassVar[int] = 500
    default_detail: ClassVar[str] = ""
    retry_after: int | None = None  # seconds, sent as Retry-After where the web answers
    fields: Mapping[str, "Message"] = _NO_FIELDS

    def __init__(self, detail: str = "", /, **params: Any) -> None:
        self.detail = detail or self.default_detail
        self.params = params
        super().__init__(self.detail or self.key)

    @property
    def message(self) -> "Message":
        """The reader-facing message (rendered in the current language when shown)."""
        # Imported here, not at the top: i18n needs Flask, and print_layouts' errors must import without it.
        from .i18n import Message

        return Message(self.key, self.params)

    def __str__(self) -> str:
        return self.detail or self.key
