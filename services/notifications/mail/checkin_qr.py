"""The check-in QR code an attendee shows at the door, as a small PNG for an email."""
import io

import segno

# Tokens ("ABIERTO:<event>:<registration>:<20 characters>", at most 50) fit version 3 in
# alphanumeric mode, so every code has the same size and the HTML can say it before it loads.
VERSION, SCALE, BORDER = 3, 6, 4  # 6 px modules scan from a phone screen; 4 is the quiet zone
SIZE = (17 + 4 * VERSION + 2 * BORDER) * SCALE  # pixels a side: 222


def png(token: str) -> bytes:
    """The token's QR code: black on white, a few hundred bytes."""
    code = segno.make_qr(token, mode="alphanumeric", version=VERSION, error="m")
    out = io.BytesIO()
    code.save(out, kind="png", scale=SCALE, border=BORDER)
    return out.getvalue()
