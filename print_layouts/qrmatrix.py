"""A fast QR encoder for stamp texts: the same symbols as the ``qrcode`` package, about 50x faster.

``qrcode`` lays a symbol out once per mask pattern and scores each with Python loops over every module
(~8 ms per stamp); that alone would cap printing at ~120 stamps/s. Here a symbol is a Python int with one
bit per module (rows of ``n`` bits, MSB = left column, each row behind a zero guard bit), so placing the
data is one permutation of a bit string, applying a mask is one XOR and the standard's penalty rules
(ISO/IEC 18004 §7.8.3) are a few dozen shifts, ANDs and popcounts per mask. The tables (block structure,
pattern positions, BCH codes, mask formulas) come from ``qrcode`` itself; for a given version, level and
mask the module matrix is identical to ``qrcode``'s (checked in tests/test_print_layouts.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from operator import itemgetter

from qrcode import base, util

from stamp_service.errors import Error

LEVEL_BITS = {"L": 1, "M": 0, "Q": 3, "H": 2}  # the format-information code of each level (qrcode's constants)
_ALNUM = {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")}
_MODE = {"numeric": 1, "alnum": 2, "byte": 4}
_COUNT_BITS = {"numeric": (10, 12, 14), "alnum": (9, 11, 13), "byte": (8, 16, 16)}


class QRCapacityError(Error, ValueError):
    """The text does not fit a QR symbol of at most the allowed version."""

    status = 400
    key = "error.qr_capacity"


@dataclass(frozen=True)
class Symbol:
    """A QR symbol without its quiet zone: ``rows[r]`` has bit ``n-1-c`` set when module (r, c) is dark."""

    version: int
    level: str
    mask: int
    size: int
    rows: tuple[int, ...]

    def module(self, r: int, c: int) -> bool:
        """Whether the module at row r, column c is dark."""
        return bool(self.rows[r] >> (self.size - 1 - c) & 1)

    def matrix(self) -> list[list[bool]]:
        """The modules as a list of rows of booleans (as ``qrcode.QRCode.modules``)."""
        n = self.size
        return [[bool(row >> (n - 1 - c) & 1) for c in range(n)] for row in self.rows]


# ----------------------------------------------------------------------------- Reed-Solomon over GF(256)

_EXP = [0] * 512
_LOG = [0] * 256
_x = 1
for _i in range(255):
    _EXP[_i] = _x
    _LOG[_x] = _i
    _x <<= 1
    if _x & 0x100:
        _x ^= 0x11D
for _i in range(255, 512):
    _EXP[_i] = _EXP[_i - 255]


def _gf_mul(a: int, b: int) -> int:
    return 0 if a == 0 or b == 0 else _EXP[_LOG[a] + _LOG[b]]


@lru_cache(maxsize=None)
def _rs_table(ec: int) -> tuple[int, ...]:
    """For each feedback byte f, the product f * g(x) without its leading term, as an ec-byte integer."""
    gen = [1]
    for i in range(ec):  # g(x) = prod (x - a^i)
        nxt = gen + [0]
        for j, coef in enumerate(gen):
            nxt[j + 1] ^= _gf_mul(coef, _EXP[i])
        gen = nxt
    return tuple(int.from_bytes(bytes(_gf_mul(f, g) for g in gen[1:]), "big") for f in range(256))


def _rs_remainder(data: bytes, ec: int) -> bytes:
    table = _rs_table(ec)
    shift = 8 * (ec - 1)
    keep = (1 << (8 * ec)) - 1
    reg = 0
    for byte in data:
        reg = ((reg << 8) & keep) ^ table[(reg >> shift) ^ byte]
    return reg.to_bytes(ec, "big")


# ----------------------------------------------------------------------------- data bits


def _segment_length(mode: str, data: str, version: int) -> int:
    group = 0 if version < 10 else 1 if version < 27 else 2
    count = len(data.encode("utf-8")) if mode == "byte" else len(data)
    head = 4 + _COUNT_BITS[mode][group]
    if mode == "numeric":
        return head + 10 * (count // 3) + (0, 4, 7)[count % 3]
    if mode == "alnum":
        return head + 11 * (count // 2) + 6 * (count % 2)
    return head + 8 * count


_TRIPLES = {f"{i:03d}": format(i, "010b") for i in range(1000)}
_THREE_DIGITS = re.compile(r"\d{3}")


def _segment_bits(mode: str, data: str, version: int) -> str:
    group = 0 if version < 10 else 1 if version < 27 else 2
    if mode == "numeric":
        count = len(data)
        whole = count - count % 3
        body = "".join(map(_TRIPLES.__getitem__, _THREE_DIGITS.findall(data, 0, whole)))
        if count % 3:
            body += format(int(data[whole:]), ("04b", "07b")[count % 3 - 1])
        head = _MODE[mode] << _COUNT_BITS[mode][group] | count
        return format(head, f"0{4 + _COUNT_BITS[mode][group]}b") + body
    if mode == "alnum":
        value, count = 0, len(data)
        for i in range(0, count - 1, 2):
            value = value << 11 | (_ALNUM[data[i]] * 45 + _ALNUM[data[i + 1]])
        if count % 2:
            value = value << 6 | _ALNUM[data[-1]]
    else:
        raw = data.encode("utf-8")
        value, count = int.from_bytes(raw, "big"), len(raw)
    length = _segment_length(mode, data, version)
    head = _MODE[mode] << _COUNT_BITS[mode][group] | count
    return format(head << (length - 4 - _COUNT_BITS[mode][group]) | value, f"0{length}b")


def segment(text: str) -> list[tuple[str, str]]:
    """Split a stamp text: ``HTTPS://HOST/S/`` (alphanumeric, or bytes for a host like ``TEM_OCOP.VN``) then digits."""
    head, sep, digits = text.rpartition("/")
    if sep and digits.isascii() and digits.isdigit():
        # The digits stay numeric even when the head needs bytes: that is what keeps such a stamp at version 8.
        # The issuer sizes stamps with this same function (stamp_service/stamps/qr.py), so both always agree.
        mode = "alnum" if all(c in _ALNUM for c in head + sep) else "byte"
        return [(mode, head + sep), ("numeric", digits)]
    if text and all(c in _ALNUM for c in text):
        return [("alnum", text)]
    return [("byte", text)]


def _codewords(bits: str, version: int, level: str) -> bytes:
    blocks = base.rs_blocks(version, LEVEL_BITS[level])
    capacity = 8 * sum(b.data_count for b in blocks)
    bits += "0" * min(4, capacity - len(bits))
    bits += "0" * (-len(bits) % 8)
    data = int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""
    pad = capacity // 8 - len(data)
    data += (b"\xec\x11" * (pad // 2 + 1))[:pad]
    data_blocks, ec_blocks, offset = [], [], 0
    for block in blocks:
        chunk = data[offset:offset + block.data_count]
        offset += block.data_count
        data_blocks.append(chunk)
        ec_blocks.append(_rs_remainder(chunk, block.total_count - block.data_count))
    out = bytearray()
    for group in (data_blocks, ec_blocks):  # interleave; block lengths differ by at most one
        short = min(len(b) for b in group)
        out += bytes(chain.from_iterable(zip(*group)))
        out += bytes(b[short] for b in group if len(b) > short)
    return bytes(out)


# ----------------------------------------------------------------------------- per-version layout


@dataclass(frozen=True)
class _Layout:
    size: int
    stride: int
    fixed: int  # dark function-pattern modules other than format information
    valid: int  # every module bit (guards excluded)
    order: tuple[int, ...]  # for each character of the matrix string, an index into the data bit string
    n_data_bits: int
    masks: tuple[int, ...]  # data-area modules each mask pattern inverts
    formats: dict[tuple[str, int], int]  # dark format-information modules per (level, mask)


def _bit_string_pos(r: int, c: int, stride: int) -> int:
    return r * stride + 1 + c  # character index in the matrix string; index r*stride is the row's guard


@lru_cache(maxsize=8)
def _layout(version: int) -> _Layout:
    n = 17 + 4 * version
    stride = n + 1
    grid: list[list[bool | None]] = [[None] * n for _ in range(n)]

    def finder(r0: int, c0: int) -> None:
        for r in range(-1, 8):
            for c in range(-1, 8):
                if 0 <= r0 + r < n and 0 <= c0 + c < n:
                    grid[r0 + r][c0 + c] = (0 <= r <= 6 and c in (0, 6)) or (0 <= c <= 6 and r in (0, 6)) or (
                        2 <= r <= 4 and 2 <= c <= 4)

    finder(0, 0)
    finder(n - 7, 0)
    finder(0, n - 7)
    positions = util.pattern_position(version)
    for r in positions:
        for c in positions:
            if grid[r][c] is not None:
                continue
            for dr in range(-2, 3):
                for dc in range(-2, 3):
                    grid[r + dr][c + dc] = max(abs(dr), abs(dc)) != 1
    for i in range(8, n - 8):
        grid[i][6] = grid[6][i] = i % 2 == 0
    if version >= 7:
        number = util.BCH_type_number(version)
        for i in range(18):
            dark = bool(number >> i & 1)
            grid[i // 3][i % 3 + n - 11] = dark
            grid[i % 3 + n - 11][i // 3] = dark
    fmt_cells = []  # (bit index, row, col) of the two format-information copies, as qrcode places them
    for i in range(15):
        fmt_cells.append((i, i if i < 6 else i + 1 if i < 8 else n - 15 + i, 8))
        fmt_cells.append((i, 8, n - i - 1 if i < 8 else 15 - i if i < 9 else 15 - i - 1))
    for _, r, c in fmt_cells:
        grid[r][c] = False
    grid[n - 8][8] = True  # the dark module

    def to_int(cells) -> int:
        chars = ["0"] * (n * stride)
        for r, c in cells:
            chars[_bit_string_pos(r, c, stride)] = "1"
        return int("".join(chars), 2)

    fixed = to_int((r, c) for r in range(n) for c in range(n) if grid[r][c])
    valid = to_int((r, c) for r in range(n) for c in range(n))
    # Data positions in placement order (two-column zigzag from the bottom right), as qrcode.map_data walks them.
    data_cells = []
    row, inc = n - 1, -1
    for col in range(n - 1, 0, -2):
        if col <= 6:
            col -= 1
        while True:
            for c in (col, col - 1):
                if grid[row][c] is None:
                    data_cells.append((row, c))
            row += inc
            if row < 0 or row >= n:
                row -= inc
                inc = -inc
                break
    n_data_bits = sum(b.total_count for b in base.rs_blocks(version, 0)) * 8
    order = [n_data_bits] * (n * stride)  # index n_data_bits is a constant "0"
    for k, (r, c) in enumerate(data_cells):
        if k < n_data_bits:
            order[_bit_string_pos(r, c, stride)] = k
    masks = tuple(to_int(cell for cell in data_cells if util.mask_func(m)(*cell)) for m in range(8))
    formats = {}
    for level, code in LEVEL_BITS.items():
        for m in range(8):
            info = util.BCH_type_info(code << 3 | m)
            formats[(level, m)] = to_int((r, c) for i, r, c in fmt_cells if info >> i & 1)
    return _Layout(n, stride, fixed, valid, tuple(order), n_data_bits, masks, formats)


# ----------------------------------------------------------------------------- penalty (ISO/IEC 18004 §7.8.3)


def _penalty(dark: int, light: int, n: int, s: int) -> int:
    score = 0
    for bits in (dark, light):
        for step in (1, s):  # N1: runs of five or more in a row (step 1) or a column (step s)
            w5 = bits & bits >> step & bits >> 2 * step & bits >> 3 * step & bits >> 4 * step
            score += w5.bit_count() + 2 * (w5 & ~(w5 >> step)).bit_count()
        score += 3 * (bits & bits >> 1 & bits >> s & bits >> (s + 1)).bit_count()  # N2: 2x2 blocks
    for step in (1, s):  # N3: 1:1:3:1:1 finder-like patterns with four light modules on one side
        core = (dark & light >> step & dark >> 2 * step & dark >> 3 * step & dark >> 4 * step
                & light >> 5 * step & dark >> 6 * step)
        quiet = light & light >> step & light >> 2 * step & light >> 3 * step
        score += 40 * ((core & quiet >> 7 * step).bit_count() + (core >> 4 * step & quiet).bit_count())
    total = n * n
    score += 10 * (abs(dark.bit_count() * 100 - 50 * total) // (5 * total))  # N4: dark share away from 50 %
    return score


# ----------------------------------------------------------------------------- public


def version_for(segments: list[tuple[str, str]], level: str, max_version: int = 40) -> int:
    """The smallest version whose capacity at this level holds the segments."""
    for version in range(1, max_version + 1):
        bits = sum(_segment_length(mode, data, version) for mode, data in segments)
        if bits <= util.BIT_LIMIT_TABLE[LEVEL_BITS[level]][version]:
            return version
    raise QRCapacityError(f"the text does not fit a QR symbol of version {max_version} at level {level}")


def encode(text: str, level: str = "M", *, version: int | None = None, mask: int | None = None,
           max_version: int = 40) -> Symbol:
    """The QR symbol of a stamp text: smallest version, best mask by the standard's penalty unless given."""
    segments = segment(text)
    if version is None:
        version = version_for(segments, level, max_version)
    bits = "".join(_segment_bits(mode, data, version) for mode, data in segments)
    if len(bits) > util.BIT_LIMIT_TABLE[LEVEL_BITS[level]][version]:
        raise QRCapacityError(f"the text does not fit a QR symbol of version {version} at level {level}")
    codewords = _codewords(bits, version, level)
    lay = _layout(version)
    stream = format(int.from_bytes(codewords, "big"), f"0{lay.n_data_bits}b") + "0"
    data = int("".join(itemgetter(*lay.order)(stream)), 2)
    base_bits = lay.fixed | data
    n, s = lay.size, lay.stride
    if mask is None:
        best = None
        for m in range(8):
            dark = (base_bits ^ lay.masks[m]) | lay.formats[(level, m)]
            score = _penalty(dark, lay.valid & ~dark, n, s)
            if best is None or score < best[0]:
                best = (score, m, dark)
        _, mask, matrix = best  # type: ignore[misc]
    else:
        matrix = (base_bits ^ lay.masks[mask]) | lay.formats[(level, mask)]
    row_mask = (1 << n) - 1
    rows = tuple((matrix >> ((n - 1 - r) * s)) & row_mask for r in range(n))
    return Symbol(version, level, mask, n, rows)
