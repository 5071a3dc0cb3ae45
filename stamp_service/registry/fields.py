"""Field schemas: one declaration validates portal forms, JSON bodies and CSV rows, and describes the API."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from ..errors import Error
from ..i18n import Message

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# A ticked checkbox posts "1" or "on"; JSON sends true/false.
BOOLEAN_TEXT = {"1": True, "on": True, "true": True, "yes": True, "0": False, "off": False, "false": False, "no": False}


class Invalid(Error, ValueError):
    """One value is wrong; carries the message shown beside the field."""

    status = 400

    def __init__(self, key: str, **params: Any) -> None:
        self.key = key
        super().__init__(**params)


class ValidationError(Error):
    """Input was refused; fields maps each wrong field to its message."""

    status = 400
    key = "error.invalid_input"

    def __init__(self, fields: Mapping[str, Message], message: Message | None = None) -> None:
        self.fields = dict(fields)
        if message is not None:
            self.key = message.key
        super().__init__(f"{self.key}: {', '.join(self.fields) or '-'}", **(message.params if message else {}))

    def render(self, lang: str | None = None) -> dict[str, str]:
        """Each field's message as text in lang."""
        return {name: msg.render(lang) for name, msg in self.fields.items()}

    @classmethod
    def single(cls, field: str, key: str, **params: Any) -> "ValidationError":
        """A refusal about one field."""
        return cls({field: Message(key, params)})


def parse_date(value: Any) -> dt.date:
    """A date from ISO YYYY-MM-DD or the Vietnamese DD/MM/YYYY that spreadsheets use."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise Invalid("error.date")
    text = value.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return dt.date.fromisoformat(text)
        m = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text)
        if m:
            return dt.date(int(m[3]), int(m[2]), int(m[1]))
    except ValueError:
        pass
    raise Invalid("error.date")


@dataclass(frozen=True)
class Field:
    """One input field: its type, limits and extra check, and how the API documents it."""

    name: str
    type: str = "string"  # string | text | integer | date | choice | email | boolean
    required: bool = False
    max_length: int = 200
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    check: Callable[[Any], Any] | None = None  # returns the normalised value or raises Invalid
    description: str = ""
    write_only: bool = False  # taken on input, never shown (a password): absent from the stored record's schema
    example: Any = None

    def clean(self, raw: Any) -> Any:
        """The value converted and checked, None when empty; raises Invalid."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if self.required:
                raise Invalid("error.required")
            return None
        value = self._convert(raw)
        if self.check is not None:
            value = self.check(value)
        return value

    def _convert(self, raw: Any) -> Any:
        if self.type == "integer":
            if isinstance(raw, bool):
                raise Invalid("error.integer")
            if isinstance(raw, str) and re.fullmatch(r"\s*-?\d{1,15}\s*", raw):
                raw = int(raw)
            if not isinstance(raw, int) or abs(raw) > 2**53:  # also keeps JSON clients' numbers exact
                raise Invalid("error.integer")
            if self.minimum is not None and raw < self.minimum:
                raise Invalid("error.minimum", minimum=self.minimum)
            if self.maximum is not None and raw > self.maximum:
                raise Invalid("error.maximum", maximum=self.maximum)
            return raw
        if self.type == "date":
            return parse_date(raw).isoformat()
        if self.type == "boolean":
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.strip().lower() in BOOLEAN_TEXT:
                return BOOLEAN_TEXT[raw.strip().lower()]
            raise Invalid("error.boolean")
        if not isinstance(raw, str):
            raise Invalid("error.string")
        text = raw.strip() if self.type != "text" else raw.strip().replace("\r\n", "\n")
        if "\x00" in text:
            raise Invalid("error.string")
        if len(text) > self.max_length:
            raise Invalid("error.too_long", max=self.max_length)
        if self.type == "choice" and text not in self.choices:
            raise Invalid("error.choice")
        if self.type == "email":
            if not EMAIL_RE.match(text):
                raise Invalid("error.email")
            text = text.lower()
        return text

    def openapi(self) -> dict[str, Any]:
        """This field as a JSON Schema 2020-12 property (OpenAPI 3.1): an optional field also takes null."""
        base = self.type if self.type in ("integer", "boolean") else "string"
        # clean() takes null (or "") for an optional field as "not given": the schema must accept it too. 3.1 has
        # no `nullable`; null is one more type, and one more enum value for a choice.
        schema: dict[str, Any] = {"type": base if self.required else [base, "null"]}
        if self.type == "date":
            schema["format"] = "date"
        elif self.type == "email":
            schema["format"] = "email"
        elif self.type == "choice":
            schema["enum"] = list(self.choices) + ([] if self.required else [None])
        if self.type in ("string", "text", "email", "choice"):
            schema["maxLength"] = self.max_length
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        if self.description:
            schema["description"] = self.description
        if self.example is not None:
            schema["examples"] = [self.example]
        return schema


@dataclass(frozen=True)
class Schema:
    """The fields of one kind of record."""

    name: str
    fields: tuple[Field, ...]

    def __getitem__(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        """Field names in declaration order."""
        return tuple(f.name for f in self.fields)

    def clean(
        self, data: Mapping[str, Any], *, partial: bool = False, strict: bool = False, only: Iterable[str] | None = None
    ) -> dict[str, Any]:
        """Validated values for the fields present (all fields unless partial); raises ValidationError.

        strict refuses names the schema does not know (JSON bodies); forms and CSV files carry extras.
        """
        if not isinstance(data, Mapping):
            raise ValidationError({}, Message("error.body_object"))
        allowed = set(only) if only is not None else set(self.names)
        errors: dict[str, Message] = {}
        if strict:
            for name in data:
                if name not in allowed:
                    errors[str(name)[:50]] = Message("error.unknown_field")
        cleaned: dict[str, Any] = {}
        for f in self.fields:
            if f.name not in allowed or (partial and f.name not in data):
                continue
            try:
                cleaned[f.name] = f.clean(data.get(f.name))
            except Invalid as exc:
                errors[f.name] = exc.message
        if errors:
            raise ValidationError(errors)
        return cleaned

    def openapi(
        self, *, only: Iterable[str] | None = None, partial: bool = False, stored: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """This schema as a JSON Schema 2020-12 object (OpenAPI 3.1): the body a client sends.

        stored: the record as the API returns it instead, with its id, these extra (or overriding) properties
        and any others the storage adds; write-only fields left out.
        """
        fields = [f for f in self.fields if only is None or f.name in set(only)]
        if stored is not None:
            fields = [f for f in fields if not f.write_only]
        properties = {f.name: f.openapi() for f in fields}
        required = [f.name for f in fields if f.required]
        if stored is not None:
            properties = {"id": {"type": "integer"}, **properties, **stored}
            required = ["id", *required]
        schema: dict[str, Any] = {"type": "object", "additionalProperties": stored is not None,
                                  "properties": properties}
        if required and not partial:
            schema["required"] = required
        return schema
