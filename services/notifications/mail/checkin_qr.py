"""The check-in QR code an attendee shows at the door, as a small PNG for an email.

One is made for every confirmation and every reminder, so it is made cheaply: a 5,000-person
reminder makes 5,000 of them. zxing-cpp encodes the symbol in C++ (mask chosen, digits in
numeric mode), a fifth of what segno takes in pure Python; the PNG is written here, one
bit per pixel: the symbol is 29 modules a side, so a few string joins and one zlib call
do what a general image writer does pixel by pixel. (The attendee's page draws its SVG
with segno: once per page view, not thousands at a time.)
"""
import struct
import zlib

import zxingcpp

# Tokens ("ABIERTO:<event>:<registration>:<20 characters>", at most 50) fit version 3, so
# every code has the same size and the HTML can say it before it loads: at error level Q
# (a quarter of the symbol may be smudged or creased) unless the ids are very long, then M.
VERSION, SCALE, BORDER = 3, 6, 4  # 6 px modules scan from a phone screen; 4 is the quiet zone
SIZE = (17 + 4 * VERSION + 2 * BORDER) * SCALE  # pixels a side: 222
ERROR_LEVELS = ("Q", "M")
# One module as bits of a greyscale PNG row (1 is white), by its pixel: black 0, white 255.
_MODULE = {0: "0" * SCALE, 255: "1" * SCALE}
_MARGIN = "1" * (BORDER * SCALE)
_ROW_BYTES = (SIZE + 7) // 8
_WHITE_ROWS = (b"\x00" + b"\xff" * _ROW_BYTES) * (BORDER * SCALE)  # 0: no PNG row filter
_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_HEADER = struct.pack(">IIBBBBB", SIZE, SIZE, 1, 0, 0, 0, 0)  # 1 bit, greyscale, no interlace


def png(token: str) -> bytes:
    """The token's QR code: black on white, a few hundred bytes."""
    pixels = _symbol(token)  # a byte a module
    side = SIZE // SCALE - 2 * BORDER
    return _png([pixels[row:row + side] for row in range(0, len(pixels), side)])


def _symbol(token):
    """The symbol at the highest error level that fits; ValueError if none does."""
    for level in ERROR_LEVELS:
        try:
            symbol = zxingcpp.create_barcode(token, zxingcpp.BarcodeFormat.QRCode,
                                             ec_level=level, version=VERSION)
        except ValueError:  # "Input too long for Version 3-Q"
            continue
        return bytes(symbol.to_image(scale=1, add_quiet_zones=False))
    raise ValueError(f"a check-in token too long for a version {VERSION} QR code")


def _png(rows):
    """A 1-bit PNG of the modules' `rows` (bytes, 0 black, 255 white), each module SCALE
    pixels, with the quiet zone around it."""
    lines = [_WHITE_ROWS]
    for modules in rows:
        bits = _MARGIN + "".join(_MODULE[pixel] for pixel in modules) + _MARGIN
        line = b"\x00" + int(bits.ljust(8 * _ROW_BYTES, "1"), 2).to_bytes(_ROW_BYTES, "big")
        lines.append(line * SCALE)
    lines.append(_WHITE_ROWS)
    return (_SIGNATURE + _chunk(b"IHDR", _HEADER)
            + _chunk(b"IDAT", zlib.compress(b"".join(lines))) + _chunk(b"IEND", b""))


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
