"""The check-in QR code an attendee shows at the door, as a small PNG for an email.

One is made for every confirmation and every reminder (a 5,000-person reminder makes 5,000),
so it is made without segno's Python loops over the 841 modules, yet it is segno's symbol
pixel for pixel (tests/unit compares it with `segno.make_qr`'s live output, and zxing-cpp
decodes it). segno encodes each token into its data codewords, raising the error level from M
where the token fits. Everything segno does after that is XOR-linear for a fixed version and
mask: error correction, interleaving and placement turn each data bit into the same set of
flipped modules, whatever the other bits, and the mask and format are the same. So that is
learnt once per process from segno's own encoder functions: the symbol of all-zero data and,
for each data codeword, the modules each of its 256 values flips. A code is then the XOR of
its codewords' entries: with segno's encoding, about a sixth of the CPU of make_qr and the
packing (docs/benchmarks.md). No QR rule is written here: only segno's functions are run.

The mask is fixed: segno otherwise makes and scores all eight in pure Python, and the score
only prefers the symbol least like a finder pattern — any mask decodes; mask 3 scored best
on average over our tokens' shape. The pixels are packed here: a hex digit of the symbol is
four modules, three bytes of pixels, and zlib's fastest level with a 4 kB window compresses
them in a third of its default's time (allocating the 32 kB window was most of it), for 55
bytes more. (The attendee's page draws its SVG with segno too.)
"""
import functools
import operator
import struct
import zlib

from segno import consts, encoder

# Tokens ("ABIERTO:<event>:<registration>:<20 characters>", at most 50) fit version 3 in
# alphanumeric mode, so every code has the same size and the HTML can say it before it loads.
VERSION, SCALE, BORDER = 3, 6, 4  # 6 px modules scan from a phone screen; 4 is the quiet zone
MODULES = 17 + 4 * VERSION  # a side of the symbol, quiet zone excepted
SIZE = (MODULES + 2 * BORDER) * SCALE  # pixels a side: 222
MASK = 3
LEVELS = (consts.ERROR_LEVEL_M, consts.ERROR_LEVEL_Q, consts.ERROR_LEVEL_H)  # M, or raised

# The symbol is an int, a row of modules to each 32 bits (three light ones end it): its hex
# digits are four modules each, which SCALE 6 makes three bytes of pixels (0 black, 1 white).
_ROW = -(-MODULES // 4) * 4
_HEX = f"0{MODULES * _ROW // 4}x"
_BITS = bytes.maketrans(b"\x00\x01", b"01")  # segno's modules and bits are bytes 0 and 1


def _pixels(digit):
    modules = "".join("0" * SCALE if digit >> 3 - k & 1 else "1" * SCALE for k in range(4))
    return int(modules, 2).to_bytes(SCALE // 2, "big").decode("latin-1")


_PIXELS = str.maketrans({f"{digit:x}": _pixels(digit) for digit in range(16)})
# A PNG scanline is a filter byte then the pixels, padded to a byte. Each row of modules is
# drawn once ("None" filter); the SCALE - 1 scanlines below it repeat it ("Up", all zero).
_ROW_BYTES = (SIZE + 7) // 8
_PAD = "0" * (_ROW_BYTES * 8 - SIZE)
_REPEAT = (b"\x02" + bytes(_ROW_BYTES)) * (SCALE - 1)
_LEFT = b"\x00" + b"\xff" * (BORDER * SCALE // 8)  # the quiet zone is a whole number of bytes
_RIGHT_PIXELS = SIZE - (BORDER + _ROW) * SCALE  # the rest of the quiet zone
_RIGHT = int("1" * _RIGHT_PIXELS + _PAD, 2).to_bytes((_RIGHT_PIXELS + len(_PAD)) // 8, "big")
# The quiet zone above and below is the same white line.
_WHITE = b"\x00" + int("1" * SIZE + _PAD, 2).to_bytes(_ROW_BYTES, "big")
_MARGIN = _WHITE + (b"\x02" + bytes(_ROW_BYTES)) * (BORDER * SCALE - 1)
_BETWEEN = _RIGHT + _REPEAT + _LEFT
_HEADER = b"\x89PNG\r\n\x1a\n"
_IHDR = struct.pack(">IIBBBBB", SIZE, SIZE, 1, 0, 0, 0, 0)  # 1-bit greyscale, not interlaced


def png(token: str) -> bytes:
    """The token's QR code: black on white, a few hundred bytes. The error level is M or
    better: segno raises it to Q or H where the token still fits."""
    error, data = _data_codewords(token)
    base, tables = _layout(error)
    symbol = functools.reduce(operator.xor, map(operator.getitem, tables, data), base)
    pixels = format(symbol, _HEX).translate(_PIXELS).encode("latin-1")
    step = len(pixels) // MODULES
    rows = _BETWEEN.join([pixels[i:i + step] for i in range(0, len(pixels), step)])
    deflate = zlib.compressobj(1, zlib.DEFLATED, 12)
    idat = deflate.compress(b"".join([_MARGIN, _LEFT, rows, _RIGHT, _REPEAT, _MARGIN]))
    return b"".join([_HEADER, _chunk(b"IHDR", _IHDR), _chunk(b"IDAT", idat + deflate.flush()),
                     _chunk(b"IEND", b"")])


def warm_up():
    """Learn every level's layout now: the worker does it before it forks its pool."""
    for error in LEVELS:
        _layout(error)


def _data_codewords(token):
    """segno's first steps of `make_qr(token, mode="alphanumeric", version=3, error="m")`:
    the error level it gives the token and the token's data codewords."""
    segments = encoder.prepare_data(token, consts.MODE_ALPHANUMERIC, None)
    needed = segments.bit_length_with_overhead(VERSION, False)
    if needed > consts.SYMBOL_CAPACITY[VERSION][LEVELS[0]]:
        raise ValueError(f"A token of {len(token)} characters does not fit version {VERSION}")
    error = encoder.boost_error_level(VERSION, LEVELS[0], segments, False)
    capacity = consts.SYMBOL_CAPACITY[VERSION][error]
    buff = encoder.Buffer()
    for segment in segments:
        encoder.write_segment(buff, segment, None, encoder.version_range(VERSION))
    encoder.write_terminator(buff, capacity, None, len(buff))
    encoder.write_padding_bits(buff, VERSION, len(buff))
    encoder.write_pad_codewords(buff, VERSION, capacity, len(buff))
    bits = buff.getbits()[:capacity]  # make_final_message reads no further
    return error, int(bits.translate(_BITS), 2).to_bytes(capacity // 8, "big")


@functools.cache
def _layout(error):
    """The symbol of all-zero data codewords at this error level, and a table for each data
    codeword: its value -> the modules it flips."""
    count = consts.SYMBOL_CAPACITY[VERSION][error] // 8
    zero = _message(error, bytes(count))
    where = _placement()
    tables = []
    for i in range(count):
        flips = []
        for bit in range(8):
            message = _message(error, bytes(i) + bytes([0x80 >> bit]) + bytes(count - i - 1))
            flips.append(functools.reduce(operator.xor, (
                where[k] for k, (a, b) in enumerate(zip(message, zero)) if a != b), 0))
        table = [0]
        for value in range(1, 256):  # its highest bit's flips and the rest's, already made
            top = value.bit_length() - 1
            table.append(flips[7 - top] ^ table[value ^ 1 << top])
        tables.append(table)
    return _symbol(error, zero), tables


@functools.cache
def _placement():
    """Where each bit of the final message lands (as a flipped module), from segno's placement
    of a few messages: in the nth, each bit is bit n of the bit's index + 1."""
    length = len(_message(LEVELS[0], bytes(consts.SYMBOL_CAPACITY[VERSION][LEVELS[0]] // 8)))
    zero = _symbol(LEVELS[0], bytes(length))
    codes = {}  # a module's bit in the symbol -> the index + 1 of the message bit on it
    for n in range(length.bit_length()):
        flipped = _symbol(LEVELS[0], bytes((k + 1) >> n & 1 for k in range(length))) ^ zero
        for module, digit in enumerate(reversed(f"{flipped:b}")):
            if digit == "1":
                codes[module] = codes.get(module, 0) | 1 << n
    where = {code - 1: 1 << module for module, code in codes.items()}
    return [where[k] for k in range(length)]


def _message(error, data):
    """segno's final message (data and error correction codewords, interleaved) as bits."""
    buff = encoder.Buffer()
    for codeword in data:
        buff.append_bits(codeword, 8)
    return encoder.make_final_message(VERSION, error, buff).getbits()


def _symbol(error, message):
    """segno's last steps (those of encoder._encode): the message placed, masked and framed."""
    matrix = encoder.make_matrix(MODULES, MODULES)
    encoder.add_finder_patterns(matrix, MODULES, MODULES)
    encoder.add_alignment_patterns(matrix, MODULES, MODULES)
    encoder.add_codewords(matrix, message, VERSION)
    _, matrix = encoder.find_and_apply_best_mask(matrix, MODULES, MODULES, MASK)
    encoder.add_format_info(matrix, VERSION, error, MASK)
    encoder.add_version_info(matrix, VERSION)
    padding = bytes(_ROW - MODULES)
    return int(b"".join(bytes(row) + padding for row in matrix).translate(_BITS), 2)


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
