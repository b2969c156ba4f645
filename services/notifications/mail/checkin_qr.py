"""The check-in QR code an attendee shows at the door, as a small PNG for an email.

One is made for every confirmation and every reminder (a 5,000-person reminder makes 5,000),
so the mask is fixed: segno otherwise makes and scores all eight in pure Python, most of
its time, and the score only prefers the symbol least like a finder pattern — any mask
decodes. Mask 3 scored best on average over our tokens' shape. (The attendee's page draws
its SVG with segno too.)
"""
import io

import segno

# Tokens ("ABIERTO:<event>:<registration>:<20 characters>", at most 50) fit version 3 in
# alphanumeric mode, so every code has the same size and the HTML can say it before it loads.
VERSION, SCALE, BORDER = 3, 6, 4  # 6 px modules scan from a phone screen; 4 is the quiet zone
SIZE = (17 + 4 * VERSION + 2 * BORDER) * SCALE  # pixels a side: 222
MASK = 3


def png(token: str) -> bytes:
    """The token's QR code: black on white, a few hundred bytes. The error level is M or
    better: segno raises it to Q where the token still fits."""
    code = segno.make_qr(token, mode="alphanumeric", version=VERSION, error="m", mask=MASK)
    out = io.BytesIO()
    code.save(out, kind="png", scale=SCALE, border=BORDER)
    return out.getvalue()
