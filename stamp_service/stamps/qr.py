"""QR symbols for stamps: an alphanumeric segment for the URL and a numeric one for the digits."""

from __future__ import annotations

import qrcode
from qrcode.util import MODE_8BIT_BYTE, MODE_ALPHA_NUM, MODE_NUMBER, QRData

from .codec import qr_segments

MAX_VERSION = 8  # 49x49 modules: what a 2 cm label scans reliably
LEVELS = {"L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M,
          "Q": qrcode.constants.ERROR_CORRECT_Q, "H": qrcode.constants.ERROR_CORRECT_H}
_MODES = {"alnum": MODE_ALPHA_NUM, "numeric": MODE_NUMBER, "byte": MODE_8BIT_BYTE}


def _segmented(text: str, level: str) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=LEVELS[level], border=4)
    for mode, data in qr_segments(text):
        code.add_data(QRData(data.encode("ascii") if mode != "byte" else data.encode("utf-8"), mode=_MODES[mode]))
    return code


def make_qr(text: str, level: str = "M") -> qrcode.QRCode:
    """The smallest QR symbol holding the stamp text at this error-correction level."""
    code = _segmented(text, level)
    code.make(fit=True)
    return code


def qr_version(text: str, level: str = "M") -> int:
    """The QR version (1-40) the stamp text needs at this level (sized only: no symbol is laid out)."""
    return _segmented(text, level).best_fit()
