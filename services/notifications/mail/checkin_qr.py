"""The check-in QR code an attendee shows at the door, as a small PNG for an email.

One is made for every confirmation and every reminder, so it is made cheaply: a 5,000-person
reminder makes 5,000 of them. Two choices keep it under a tenth of a millisecond's work
besides the encoding itself:

- A fixed mask. segno otherwise tries all eight and scores each in pure Python, four
  fifths of its time; the score only prefers the symbol least like a finder pattern, and
  any mask decodes. Mask 3 scores best on average over our tokens' shape.
- The PNG written here, one bit per pixel: the matrix is 29 modules a side, so a few
  string joins and one zlib call do what segno's general writer does pixel by pixel.
"""
import struct
import zlib

import segno

# Tokens ("ABIERTO:<event>:<registration>:<20 characters>", at most 50) fit version 3 in
# alphanumeric mode, so every code has the same size and the HTML can say it before it loads.
VERSION, SCALE, BORDER = 3, 6, 4  # 6 px modules scan from a phone screen; 4 is the quiet zone
SIZE = (17 + 4 * VERSION + 2 * BORDER) * SCALE  # pixels a side: 222
MASK = 3
# One module as bits of a greyscale PNG row (1 is white): light, dark.
_MODULE = ("1" * SCALE, "0" * SCALE)
_MARGIN = "1" * (BORDER * SCALE)
_ROW_BYTES = (SIZE + 7) // 8
_WHITE_ROWS = (b"\x00" + b"\xff" * _ROW_BYTES) * (BORDER * SCALE)  # 0: no PNG row filter
_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_HEADER = struct.pack(">IIBBBBB", SIZE, SIZE, 1, 0, 0, 0, 0)  # 1 bit, greyscale, no interlace


def png(token: str) -> bytes:
    """The token's QR code: black on white, a few hundred bytes."""
    # The error level is M or better: segno raises it to Q where the token still fits.
    code = segno.make_qr(token, mode="alphanumeric", version=VERSION, error="m", mask=MASK)
    return _png(code.matrix)


def _png(matrix):
    """A 1-bit PNG of `matrix` (rows of 0 light / 1 dark), each module SCALE pixels, with the
    quiet zone around it."""
    rows = [_WHITE_ROWS]
    for modules in matrix:
        bits = _MARGIN + "".join(_MODULE[dark] for dark in modules) + _MARGIN
        line = b"\x00" + int(bits.ljust(8 * _ROW_BYTES, "1"), 2).to_bytes(_ROW_BYTES, "big")
        rows.append(line * SCALE)
    rows.append(_WHITE_ROWS)
    return (_SIGNATURE + _chunk(b"IHDR", _HEADER)
            + _chunk(b"IDAT", zlib.compress(b"".join(rows))) + _chunk(b"IEND", b""))


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
