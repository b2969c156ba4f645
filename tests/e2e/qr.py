"""Read the QR code in a received email as a phone would: the inline PNG, decoded by a real
decoder (zxing-cpp). The PNG is unpacked here to grey pixels, so the tests need no imaging
library: non-interlaced PNGs of any colour type at 1–8 bits, as QR code writers make them."""
import struct
import zlib

import zxingcpp


def qr_images(message):
    """The PNG parts of an email (inline or attached), as bytes."""
    return [part.get_content() for part in message.walk() if part.get_content_type() == "image/png"]


def read_qr(message):
    """The text of every QR code in the email's images."""
    found = []
    for png in qr_images(message):
        width, height, grey = grey_pixels(png)
        view = memoryview(grey).cast("B", (height, width))
        found += [code.text for code in zxingcpp.read_barcodes(view)]
    return found


def grey_pixels(png):
    """(width, height, bytes of one grey level per pixel) of a PNG."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    chunks, data, position = {}, b"", 8
    while position < len(png):
        length, kind = struct.unpack(">I4s", png[position:position + 8])
        body = png[position + 8:position + 8 + length]
        if kind == b"IDAT":
            data += body
        else:
            chunks[kind] = body
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert depth <= 8 and not interlace, "a PNG this reader does not handle"
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    rows = _unfilter(zlib.decompress(data), width, height, depth * channels)
    palette = chunks.get(b"PLTE", b"")
    grey = bytearray()
    for row in rows:
        samples = _samples(row, width * channels, depth)
        for x in range(width):
            pixel = samples[x * channels:(x + 1) * channels]
            if colour == 3:
                pixel = palette[3 * pixel[0]:3 * pixel[0] + 3]
            elif colour in (0, 4):
                pixel = [pixel[0] * 255 // ((1 << depth) - 1)]
            grey.append(sum(pixel[:3]) // len(pixel[:3]))
    return width, height, bytes(grey)


def _samples(row, count, depth):
    if depth == 8:
        return list(row[:count])
    per_byte, mask = 8 // depth, (1 << depth) - 1
    return [(row[i // per_byte] >> (8 - depth * (i % per_byte + 1))) & mask for i in range(count)]


def _unfilter(raw, width, height, bits_per_pixel):
    """The scanlines of a PNG's image data, its five filters undone (RFC 2083, 6)."""
    stride, step = (width * bits_per_pixel + 7) // 8, max(1, bits_per_pixel // 8)
    rows, previous, position = [], bytearray(stride), 0
    for _ in range(height):
        kind, line = raw[position], bytearray(raw[position + 1:position + 1 + stride])
        position += 1 + stride
        for i in range(stride):
            left = line[i - step] if i >= step else 0
            up, corner = previous[i], previous[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                line[i] = (line[i] + _paeth(left, up, corner)) & 255
        rows.append(bytes(line))
        previous = line
    return rows


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)
