"""Label-stock templates (JSON data files) and printer calibration, both checked when built."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path

# The service's error base: dependency-free, so this library still imports without Flask.
from stamp_service.errors import Error

SHIPPED_DIR = Path(__file__).parent / "templates"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")
FIT_TOLERANCE_MM = 0.05  # rounding in published stock dimensions
MIN_LABEL_MM = 15.0, 10.0  # width, height
SAFE_MARGIN_MM = 1.5  # nothing but white inside this band: a print shifted by this much stays on the sticker
# Most office laser and inkjet printers cannot print the outer 3-5 mm of a sheet: nothing is drawn there unless
# the template declares a borderless printer (label printers on rolls print to the label's edge).
PAPER_MARGIN_MM = 4.0


class TemplateError(Error, ValueError):
    """A template or calibration that cannot be used; the detail says why (for whoever wrote the template)."""

    status = 400
    key = "error.template"


@dataclass(frozen=True)
class Template:
    """A label stock: page size and the grid of labels on it (mm, from the page's top-left corner)."""

    name: str
    title: str
    kind: str  # "sheet" or "roll"
    page_width_mm: float
    page_height_mm: float
    rows: int
    columns: int
    label_width_mm: float
    label_height_mm: float
    margin_top_mm: float = 0.0
    margin_left_mm: float = 0.0
    gap_x_mm: float = 0.0
    gap_y_mm: float = 0.0
    corner_radius_mm: float = 0.0
    borderless: bool = False  # the stock's printer prints up to the paper's edge (no unprintable margin)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not NAME_RE.match(self.name):
            raise TemplateError("name must be 1-48 lower-case letters, digits and dashes")
        if not isinstance(self.title, str) or not self.title.strip():
            raise TemplateError("title must be a non-empty text")
        if self.kind not in ("sheet", "roll"):
            raise TemplateError(f"kind must be 'sheet' or 'roll', not {self.kind!r}")
        if not isinstance(self.borderless, bool):
            raise TemplateError("borderless must be true or false")
        for name in ("rows", "columns"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise TemplateError(f"{name} must be a whole number")
            if value < 1:
                raise TemplateError(f"{name} must be at least 1")
            if value > 50:
                raise TemplateError(f"{name} must be at most 50")
        for f in fields(self):
            if f.name.endswith("_mm"):
                value = getattr(self, f.name)
                if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                    raise TemplateError(f"{f.name} must be a number (millimetres)")
                if value < 0:
                    raise TemplateError(f"{f.name} must not be negative")
                object.__setattr__(self, f.name, float(value))
        if not 20 <= self.page_width_mm <= 1000 or not 10 <= self.page_height_mm <= 2000:
            raise TemplateError("the page must be 20-1000 mm wide and 10-2000 mm high")
        if self.label_width_mm < MIN_LABEL_MM[0] or self.label_height_mm < MIN_LABEL_MM[1]:
            raise TemplateError(f"labels must be at least {MIN_LABEL_MM[0]:g} x {MIN_LABEL_MM[1]:g} mm "
                                f"(this one is {self.label_width_mm:g} x {self.label_height_mm:g} mm)")
        if self.kind == "roll" and self.per_page != 1:
            raise TemplateError("a roll template has one label per page (rows and columns 1)")
        over_x = (self.margin_left_mm + self.columns * self.label_width_mm + (self.columns - 1) * self.gap_x_mm
                  - self.page_width_mm)
        over_y = (self.margin_top_mm + self.rows * self.label_height_mm + (self.rows - 1) * self.gap_y_mm
                  - self.page_height_mm)
        if over_x > FIT_TOLERANCE_MM:
            raise TemplateError(f"labels do not fit the page width by {over_x:.1f} mm")
        if over_y > FIT_TOLERANCE_MM:
            raise TemplateError(f"labels do not fit the page height by {over_y:.1f} mm")
        if self.corner_radius_mm > min(self.label_width_mm, self.label_height_mm) / 2:
            raise TemplateError("corner_radius_mm must be at most half the label's shorter side")

    @property
    def paper_margin_mm(self) -> float:
        """The band along the paper's edges that the printer cannot print (0 for a borderless printer)."""
        return 0.0 if self.borderless else PAPER_MARGIN_MM

    @property
    def insets_mm(self) -> tuple[float, float, float, float]:
        """What every label keeps blank along its left, top, right and bottom edges: the safe margin, or more
        where the outermost labels reach into the paper's unprintable margin. One value per side for the whole
        sheet, so every label (and a hidden-code sticker on it) has the same layout."""
        paper = self.paper_margin_mm
        right_gap = (self.page_width_mm - self.margin_left_mm - self.columns * self.label_width_mm
                     - (self.columns - 1) * self.gap_x_mm)
        bottom_gap = (self.page_height_mm - self.margin_top_mm - self.rows * self.label_height_mm
                      - (self.rows - 1) * self.gap_y_mm)
        return tuple(round(max(SAFE_MARGIN_MM, paper - max(0.0, gap)), 3)  # type: ignore[return-value]
                     for gap in (self.margin_left_mm, self.margin_top_mm, right_gap, bottom_gap))

    @property
    def per_page(self) -> int:
        """Labels on one page."""
        return self.rows * self.columns

    def cell_origin_mm(self, index: int) -> tuple[float, float]:
        """Top-left corner (x, y from the page's top-left) of label position `index` (0-based, row by row)."""
        row, col = divmod(index, self.columns)
        return (self.margin_left_mm + col * (self.label_width_mm + self.gap_x_mm),
                self.margin_top_mm + row * (self.label_height_mm + self.gap_y_mm))

    def as_dict(self) -> dict[str, object]:
        """The template as JSON-friendly values (the file format), plus per_page."""
        data: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        data["per_page"] = self.per_page
        return data

    @classmethod
    def from_dict(cls, data: object) -> "Template":
        """Build from a parsed JSON object; raises TemplateError naming unknown or missing fields."""
        if not isinstance(data, dict):
            raise TemplateError("a template file holds one JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known - {"per_page", "comment", "source"})
        if unknown:
            raise TemplateError(f"unknown field {unknown[0]!r}")
        optional = ("margin", "gap", "corner", "borderless")
        missing = [f.name for f in fields(cls) if f.name not in data and not f.name.startswith(optional)]
        if missing:
            raise TemplateError(f"missing field {missing[0]!r}")
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Calibration:
    """Printer correction for a whole page: offsets in mm (x right, y down) and scale about the top-left corner."""

    offset_x_mm: float = 0.0
    offset_y_mm: float = 0.0
    scale_x: float = 1.0
    scale_y: float = 1.0

    def __post_init__(self) -> None:
        for name in ("offset_x_mm", "offset_y_mm", "scale_x", "scale_y"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise TemplateError(f"{name} must be a number")
            object.__setattr__(self, name, float(value))
        for name in ("offset_x_mm", "offset_y_mm"):
            if abs(getattr(self, name)) > 10:
                raise TemplateError(f"{name} must be between -10 and 10 mm")
        for name in ("scale_x", "scale_y"):
            if not 0.9 <= getattr(self, name) <= 1.1:
                raise TemplateError(f"{name} must be between 0.9 and 1.1")

    @property
    def is_identity(self) -> bool:
        """Whether this calibration changes nothing."""
        return self == Calibration()


def load_template_file(path: Path) -> Template:
    """One template from a JSON file; TemplateError names the file and the problem."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise TemplateError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise TemplateError(f"{path}: is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise TemplateError(f"{path}: is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    try:
        return Template.from_dict(data)
    except TemplateError as exc:
        raise TemplateError(f"{path}: {exc}") from None
    except TypeError as exc:  # e.g. a field given twice under another spelling
        raise TemplateError(f"{path}: {exc}") from None


def load_templates(extra_dirs: Iterable[Path] = ()) -> dict[str, Template]:
    """The shipped templates plus every *.json in extra_dirs (a user file replaces a shipped one of its name)."""
    found: dict[str, Template] = {}
    for directory in (SHIPPED_DIR, *[Path(d) for d in extra_dirs]):
        if not directory.is_dir():
            if directory != SHIPPED_DIR:
                raise TemplateError(f"{directory}: no such template folder")
            continue
        seen: dict[str, Path] = {}
        for path in sorted(directory.glob("*.json")):
            template = load_template_file(path)
            if template.name in seen:
                raise TemplateError(f"{path}: template name {template.name!r} is also used by {seen[template.name]}")
            seen[template.name] = path
            found[template.name] = template
    return dict(sorted(found.items(), key=lambda item: (item[1].kind != "sheet", -item[1].per_page, item[0])))
