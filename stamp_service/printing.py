"""Printing a run: its stamps as labels for print_layouts, the templates on offer, each producer's calibration."""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, Mapping

from flask import current_app, has_app_context

from print_layouts import Calibration, LabelStamp, Template, hidden_box_rect, link_code_rect, load_templates

from .keystore import KeyStore
from .registry import batches, label_marks, producers, products
from .i18n import Message, current_language, formats, gettext
from .registry.fields import Field, Schema, ValidationError
from .registry.records import Row
from .stamps import issuing
from .stamps.hidden import format_code
from .stamps.serials import format_serial
from .storage import Storage
from .trace import digital_link as gs1_link

A4_MM = (210.0, 297.0)
USER_TEMPLATES = "templates"  # instance/templates/*.json: a producer's own label stock
# What a print holds: full labels (with the hidden-code box on a two-layer run), the QR labels alone (their codes
# go on scratch labels), or the hidden codes alone (scratch-label stock, no QR).
CONTENTS = ("full", "qr-only", "hidden-only")

# The print form's whole numbers (the calibration's decimals go through calibration_from).
SETTINGS = Schema("PrintSettings", (
    Field("start", "integer", minimum=1, maximum=500),
    Field("first", "integer", minimum=1),
    Field("last", "integer", minimum=1),
))


def available_templates(instance: Path) -> dict[str, Template]:
    """Shipped label templates plus the instance's own (instance/templates/*.json)."""
    folder = instance / USER_TEMPLATES
    return load_templates([folder] if folder.is_dir() else [])


def template_title(template: Template, lang: str | None = None) -> str:
    """A label stock as the reader's language says it. Its title is stored in one language (Vietnamese for the
    shipped ones), so other languages get words built from its size: "A4, 21 labels 70 × 42.3 mm (3 × 7)"."""
    language = lang or current_language()
    if language == "vi":
        return template.title
    size = {"width": formats.number(template.label_width_mm, language),
            "height": formats.number(template.label_height_mm, language)}
    if template.kind == "roll":
        return gettext("stock.roll", language, **size)
    paper = (template.page_width_mm, template.page_height_mm)
    paper_text = "A4" if paper == A4_MM else gettext("stock.paper", language, width=formats.number(paper[0], language),
                                                       height=formats.number(paper[1], language))
    return gettext("stock.sheet", language, paper=paper_text, count=template.rows * template.columns,
                   columns=template.columns, rows=template.rows, **size)


def link_text(product: Row, batch: Row, host: str, content: str) -> str:
    """The GS1 Digital Link URI printed as the labels' second code (https://host/01/gtin14/10/lot, our own host
    as the resolver); ValidationError on the digital_link field for a product without a GTIN, a lot GS1 cannot
    carry, or hidden-code-only labels (they have no QR)."""
    if content == "hidden-only":
        raise ValidationError.single("digital_link", "run.dl_hidden_only")
    if not product["gtin"]:
        raise ValidationError.single("digital_link", "run.dl_no_gtin")
    try:
        return gs1_link.build(host.lower(), product["gtin"], batch["lot"])
    except gs1_link.BadLink as exc:
        raise ValidationError.single("digital_link", exc.key) from None


def labels(storage: Storage, store: KeyStore, run: Row, host: str, first: int | None = None,
           last: int | None = None, content: str = "full", artwork: Path | None = None,
           digital_link: bool = False) -> Iterator[LabelStamp]:
    """The run's stamps (or a range of them) as labels, QR texts signed on the fly and hidden codes derived on
    the fly; content is one of CONTENTS. A hidden-only print of a run without hidden codes is refused here.
    QR labels also carry the producer's logo and the OCOP mark of the run's stars while the product's current
    recognition grants them, read from `artwork` (default: the app's artwork_folder), and with digital_link the
    lot's GS1 Digital Link as a second QR (see link_text for the refusals)."""
    if content not in CONTENTS:
        raise ValidationError.single("content", "error.choice")
    batch = batches.get(storage, run["batch_id"])
    product = products.get(storage, run["product_id"])
    link = link_text(product, batch, host, content) if digital_link else None
    producer = producers.get(storage, product["producer_id"])
    fixed = dict(product_name=product["name"], producer_name=producer["name"], stars=run["stars"], lot=batch["lot"],
                 production_date=dt.date.fromisoformat(run["production_date"]),
                 expiry_date=dt.date.fromisoformat(run["expiry_date"]) if run["expiry_date"] else None,
                 host=host.lower(), **({"link_text": link} if link else {}))
    if content == "hidden-only":  # no QR on these labels: nothing to sign
        return (LabelStamp(qr_text="", serial_text=format_serial(serial), hidden_code=format_code(code), **fixed)
                for serial, code in issuing.hidden_codes(run, store, first, last))
    artwork = artwork if artwork is not None else _instance_artwork()
    if artwork is not None:  # read once: every label of the run shares the same bytes
        fixed["logo"] = label_marks.image_bytes(artwork, producer.get("logo"))
        fixed["ocop_mark"] = label_marks.image_bytes(
            artwork, label_marks.entitled_mark(storage, producer, product["id"], run["stars"]))
    texts = issuing.codes(run, store, host, first, last)
    if content == "qr-only" or not run["hidden_code"]:
        return (LabelStamp(qr_text=text, serial_text=format_serial(serial), **fixed) for serial, text in texts)
    codes = issuing.hidden_codes(run, store, first, last)
    return (LabelStamp(qr_text=text, serial_text=format_serial(serial), hidden_code=format_code(code), **fixed)
            for (serial, text), (_serial, code) in zip(texts, codes))


def check_layout(storage: Storage, store: KeyStore, run: Row, host: str, template: Template, last: int,
                 content: str, digital_link: bool = False) -> None:
    """Refuse, before anything is rendered, a print the run's labels cannot have: hidden codes of a run without
    them or a Digital Link it cannot carry (ValidationError), or a template with no room for the hidden-code box
    or the Digital Link code (print_layouts.NoRoomForBox, NoRoomForLinkCode).
    `last` is the range's last serial, whose stamp is the longest; signing it also surfaces key problems now."""
    sample = next(labels(storage, store, run, host, last, last, content, digital_link=digital_link))
    if sample.hidden_code is not None:
        hidden_box_rect(template, sample, hidden_only=content == "hidden-only")
    if sample.link_text is not None:
        link_code_rect(template, sample)


def _number(values: Mapping[str, Any], name: str, default: float) -> float:
    raw = values.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(str(raw).replace(",", "."))  # Vietnamese keyboards type 0,5
    except ValueError:
        raise ValidationError.single(name, "error.number") from None


def calibration_from(values: Mapping[str, Any], saved: Calibration) -> Calibration:
    """A calibration from form or command-line values, falling back to the saved one field by field; each wrong
    value is reported beside its own field."""
    numbers, errors = {}, {}
    for name, default, low, high, key in (
        ("offset_x_mm", saved.offset_x_mm, -10, 10, "error.offset_range"),
        ("offset_y_mm", saved.offset_y_mm, -10, 10, "error.offset_range"),
        ("scale_x", saved.scale_x, 0.9, 1.1, "error.scale_range"),
        ("scale_y", saved.scale_y, 0.9, 1.1, "error.scale_range"),
    ):
        try:
            numbers[name] = _number(values, name, default)
        except ValidationError as exc:
            errors.update(exc.fields)
            continue
        if not low <= numbers[name] <= high:
            errors[name] = Message(key, {"low": low, "high": high})
    if errors:
        raise ValidationError(errors)
    return Calibration(**numbers)


def saved_settings(storage: Storage, producer_id: int) -> tuple[str | None, Calibration]:
    """The producer's last template and calibration (none and no correction at first)."""
    row = storage.find_one("print_settings", producer_id=producer_id)
    if row is None:
        return None, Calibration()
    return row["template"], Calibration(row["offset_x_mm"], row["offset_y_mm"], row["scale_x"], row["scale_y"])


def remember(storage: Storage, producer_id: int, template: str, calibration: Calibration) -> None:
    """Keep the template and calibration for the producer's next print."""
    values = {"template": template, "offset_x_mm": calibration.offset_x_mm, "offset_y_mm": calibration.offset_y_mm,
              "scale_x": calibration.scale_x, "scale_y": calibration.scale_y,
              "updated_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    with storage.transaction():
        if storage.update_where("print_settings", values, producer_id=producer_id) == 0:
            storage.insert("print_settings", {"producer_id": producer_id, **values})


def check_start(template: Template, start: int) -> int:
    """The first label position, which must be on the first page of this template."""
    if not 1 <= start <= template.per_page:
        raise ValidationError.single("start", "error.start_position", max=template.per_page)
    return start


def choose_template(templates: Mapping[str, Template], name: str | None) -> Template:
    """The named template, or a field error listing what exists."""
    if not name or name not in templates:
        raise ValidationError.single("template", "error.template_unknown", names=", ".join(sorted(templates)))
    return templates[name]


def stream_pdf(render: Callable[[Any], Any], chunk: int = 64 * 1024) -> Iterator[bytes]:
    """Run render(file) in a thread writing into a pipe and yield the PDF as it is written, so a long run
    starts downloading at once and memory stays flat (the pipe blocks the renderer when the reader lags)."""
    read_fd, write_fd = os.pipe()
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with os.fdopen(write_fd, "wb") as sink:
                render(sink)
        except BrokenPipeError:
            pass  # the browser went away (download cancelled): stop rendering
        except BaseException as exc:  # reported to the reader below; the download then ends early
            errors.append(exc)

    thread = threading.Thread(target=work, name="pdf-render", daemon=True)
    thread.start()
    with os.fdopen(read_fd, "rb") as source:
        while data := source.read(chunk):
            yield data
    thread.join()
    if errors:
        raise errors[0]


def artwork_folder(instance: Path) -> Path:
    """Where producers' logos and OCOP mark images are stored (instance/media/producers)."""
    return instance / "media" / "producers"


def _instance_artwork() -> Path | None:
    """The running app's artwork folder (None outside an app, e.g. a bare library call)."""
    return artwork_folder(Path(current_app.instance_path)) if has_app_context() else None
