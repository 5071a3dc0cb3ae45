"""QR symbols for stamps, sized by the printer's own encoder (print_layouts.qrmatrix) so both always agree."""

from __future__ import annotations

import qrcode
from qrcode.util import MODE_8BIT_BYTE, MODE_ALPHA_NUM, MODE_NUMBER, QRData

from print_layouts import qrmatrix

MAX_VERSION = 8  # 49x49 modules: what a 2 cm label scans reliably
LEVELS = {"L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M,
          "Q": qrcode.constants.ERROR_CORRECT_Q, "H": qrcode.constants.ERROR_CORRECT_H}
_MODES = {"alnum": MODE_ALPHA_NUM, "numeric": MODE_NUMBER, "byte": MODE_8BIT_BYTE}


def make_qr(text: str, level: str = "M") -> qrcode.QRCode:
    """The smallest ``qrcode`` symbol holding the stamp text, segmented as printed (for images in tests and tools)."""
    code = qrcode.QRCode(error_correction=LEVELS[level], border=4)
    for mode, data in qrmatrix.segment(text):
        code.add_data(QRData(data.encode("utf-8") if mode == "byte" else data.encode("ascii"), mode=_MODES[mode]))
    code.make(fit=True)
    return code


def qr_version(text: str, level: str = "M") -> int:
    """The QR version (1-40) the printed symbol of this stamp text has at this level (sized, not laid out)."""
    # One segmentation for issuing and printing: a check with another encoder once passed stamps that printed
    # at version 13 (host TEM_OCOP.VN), too dense for a 2 cm label.
    return qrmatrix.version_for(qrmatrix.segment(text), level)
