"""Label templates and the PDF renderer: a library with no Flask in it (see issue 4).

    templates = load_templates()
    render_pdf(stamps, templates["a4-65-38x21"], Path("out.pdf"), start=5, calibration=Calibration(0.5, -0.3))
"""

from .hidden_box import NoRoomForBox
from .link_code import NoRoomForLinkCode
from .render import (LabelStamp, RenderStats, hidden_box_rect, link_code_rect, preview_png, render_pdf,
                     render_test_page)
from .templates import Calibration, Template, TemplateError, load_templates

__all__ = ["Calibration", "LabelStamp", "NoRoomForBox", "NoRoomForLinkCode", "RenderStats", "Template", "TemplateError",
           "hidden_box_rect", "link_code_rect", "load_templates", "preview_png", "render_pdf", "render_test_page"]
