"""The check-in QR code in the emails of a held seat: an inline PNG that a real reader decodes
to the registration's token, the short code beside it, and nothing of it for anyone else."""
import io

import pytest
import segno
import zxingcpp
from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image

from services.notifications.mail import checkin_qr
from tests.unit.test_emails import bodies, fact, ics_parts, received

TOKEN = "ABIERTO:1:7:K7M4QXABCDEFGHJK0123"
CODE = "7-K7M4QX"
WITH_QR = ("registration_confirmed", "registration_promoted", "registration_repeat", "reminder")


def seat(kind="registration_confirmed", token=TOKEN, code=CODE, **registration):
    """A confirmed attendee's fact, with what opens the door."""
    data = fact(kind=kind)
    data["registration"].update(checkin_token=token, checkin_code=code, **registration)
    if kind == "reminder":
        data["reminder"] = {"offset": "P1D", "due_at": "2024-05-30T16:00:00+00:00"}
    return data


def qr_parts(message):
    return [part for part in message.walk() if part.get_content_type() == "image/png"]


def decoded(part):
    image = Image.open(io.BytesIO(part.get_payload(decode=True)))
    return [barcode.text for barcode in zxingcpp.read_barcodes(image)]


@pytest.mark.parametrize("kind", WITH_QR)
def test_the_qr_code_is_an_inline_image_that_reads_back_as_the_token(kind):
    message = received(kind, seat(kind))
    (part,) = qr_parts(message)
    assert decoded(part) == [TOKEN]
    assert part.get_content_disposition() == "inline"
    assert len(part.get_payload(decode=True)) < 2000  # small: it goes to every attendee
    # the HTML part and its image are one multipart/related, inside the alternative
    alternative = message.get_payload()[0]
    plain, related = alternative.get_payload()
    assert related.get_content_type() == "multipart/related"
    assert [p.get_content_type() for p in related.get_payload()] == ["text/html", "image/png"]
    content_id = part["Content-ID"].strip("<>")
    _, html = bodies(message)
    assert html.count(f'src="cid:{content_id}"') == 2  # in each language's section
    assert 'alt="Código QR para registrar tu asistencia"' in html
    assert 'alt="Check-in QR code"' in html
    assert f'width="{checkin_qr.SIZE}"' in html
    assert Image.open(io.BytesIO(part.get_payload(decode=True))).size == (checkin_qr.SIZE,) * 2


@pytest.mark.parametrize("event_id, registration_id", [
    (1, 1), (42, 90_817), (9_999_999_999, 9_999_999_999), (3, 5_000_000_001)])
def test_every_shape_of_token_reads_back_at_one_size(event_id, registration_id):
    """The mask is fixed, not chosen per code: the shortest and the longest token both decode,
    from an image of the size the HTML says."""
    for tail in ("00000000000000000000", "ZZZZZZZZZZZZZZZZZZZZ", "K7M4QXABCDEFGHJK0123"):
        token = f"ABIERTO:{event_id}:{registration_id}:{tail}"
        image = Image.open(io.BytesIO(checkin_qr.png(token)))
        assert image.size == (checkin_qr.SIZE,) * 2
        assert [barcode.text for barcode in zxingcpp.read_barcodes(image)] == [token]


def segnos_own(token):
    """The picture segno itself writes for the token, made now by the segno installed."""
    code = segno.make_qr(token, mode="alphanumeric", version=checkin_qr.VERSION, error="m",
                         mask=checkin_qr.MASK)
    theirs = io.BytesIO()
    code.save(theirs, kind="png", scale=checkin_qr.SCALE, border=checkin_qr.BORDER)
    return Image.open(theirs).convert("1").tobytes()


def ours(token):
    image = Image.open(io.BytesIO(checkin_qr.png(token)))
    image.load()  # a bad CRC or a short IDAT raises here
    assert image.mode == "1" and image.format == "PNG"
    return image


def forget_layouts():
    """checkin_qr learns again from segno, as a new process would."""
    checkin_qr._layout.cache_clear()
    checkin_qr._placement.cache_clear()


ALPHANUMERIC = segno.consts.ALPHANUMERIC_CHARS.decode()
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # a token's last 20 characters
IDS = st.integers(min_value=1, max_value=9_999_999_999)


@settings(max_examples=150, deadline=None)
@given(IDS, IDS, st.text(CROCKFORD, min_size=20, max_size=20))
def test_every_token_is_segnos_own_image_pixel_for_pixel(event_id, registration_id, tail):
    """The pixels are put together by checkin_qr, from what it learnt of segno once, not by
    segno for each code: what a phone reads must be the very picture segno would write, at
    every error level a token's length gives (H up to 35 characters, Q up to 47, then M)."""
    token = f"ABIERTO:{event_id}:{registration_id}:{tail}"
    image = ours(token)
    assert image.tobytes() == segnos_own(token)
    assert [barcode.text for barcode in zxingcpp.read_barcodes(image)] == [token]


@settings(max_examples=150, deadline=None)
@given(st.text(ALPHANUMERIC, min_size=1, max_size=61))
@example("A" * 35).via("the longest at H")
@example("A" * 36).via("the shortest at Q")
@example("A" * 47).via("the longest at Q")
@example("A" * 48).via("the shortest at M")
@example("A" * 61).via("the longest: 352 bits to the byte, and segno pads 8 more")
@example(" ").via("a space alone")
def test_any_alphanumeric_text_that_fits_is_segnos_own_image(text):
    image = ours(text)
    assert image.tobytes() == segnos_own(text)
    assert [barcode.text for barcode in zxingcpp.read_barcodes(image)] == [text]


@pytest.mark.parametrize("length", range(1, 62))
def test_every_length_that_fits_is_segnos_own_image(length):
    """Where a token ends among its codewords (and what segno pads it with) is each length's."""
    text = (ALPHANUMERIC * 2)[length:2 * length]
    assert ours(text).tobytes() == segnos_own(text)


def test_the_comparison_is_with_segno_as_installed_not_a_stored_picture(monkeypatch):
    """A segno that placed the bits otherwise (here: the message from its end) no longer
    gives the picture checkin_qr learnt from the segno before it, and the tests above would
    fail; learnt again from it, as a worker starting after the upgrade would, it is matched."""
    forget_layouts()
    checkin_qr.png(TOKEN)  # learnt from segno as pinned
    place = segno.encoder.add_codewords
    monkeypatch.setattr(segno.encoder, "add_codewords",
                        lambda matrix, codewords, version: place(matrix, codewords[::-1], version))
    try:
        assert ours(TOKEN).tobytes() != segnos_own(TOKEN)
        forget_layouts()
        assert ours(TOKEN).tobytes() == segnos_own(TOKEN)
    finally:
        monkeypatch.undo()
        forget_layouts()
    assert ours(TOKEN).tobytes() == segnos_own(TOKEN)


def test_a_token_too_long_for_the_size_is_refused_not_drawn_larger():
    with pytest.raises(ValueError):
        checkin_qr.png("ABIERTO:1:1:" + "K" * 50)  # 62 characters
    with pytest.raises(ValueError):
        checkin_qr.png("abierto:1:1:k7m4qx")  # lower case is not alphanumeric mode: larger


@pytest.mark.parametrize("kind", WITH_QR)
def test_the_short_code_is_beside_it_and_alone_in_the_text(kind):
    text, html = bodies(received(kind, seat(kind)))
    assert f"Código de registro: {CODE}" in text
    assert f"Check-in code: {CODE}" in text
    assert TOKEN not in text and TOKEN not in html  # the token is only in the image
    big = "monospace;font-size:28px;font-weight:bold;letter-spacing:2px;color:#1a1a1a;"
    assert html.count(f'{big}">{CODE}</p>') == 2  # large letters, in each language's section


def test_two_attendees_of_one_event_get_their_own_code_and_image():
    mine = received("registration_confirmed", seat())
    theirs = received("registration_confirmed", seat(
        token="ABIERTO:1:8:ZZZZZZZZZZ0000000000", code="8-ZZZZZZ", id=8, name="Luis"))
    assert decoded(qr_parts(theirs)[0]) == ["ABIERTO:1:8:ZZZZZZZZZZ0000000000"]
    assert decoded(qr_parts(mine)[0]) == [TOKEN]
    assert "8-ZZZZZZ" in bodies(theirs)[0] and "8-ZZZZZZ" not in bodies(mine)[0]
    assert qr_parts(mine)[0]["Content-ID"] != qr_parts(theirs)[0]["Content-ID"]


@pytest.mark.parametrize("kind", ["registration_confirmed", "registration_repeat"])
@pytest.mark.parametrize("status", ["waitlisted", "pending", "cancelled"])
def test_no_qr_without_a_seat(kind, status):
    data = seat(kind)
    data["registration"]["status"] = status  # even if a fact carried the codes by mistake
    if status == "pending":
        data["registration"].update(confirm_url="http://127.0.0.1:5001/registrations/confirm/x",
                                    held_until="2024-05-20T18:30:00+00:00")
    message = received(kind, data)
    assert qr_parts(message) == []
    text, html = bodies(message)
    assert CODE not in text and "cid:" not in html
    assert message.get_payload()[0].get_payload()[1].get_content_type() == "text/html"


@pytest.mark.parametrize("kind", ["registration_waitlisted", "registration_cancelled"])
def test_other_kinds_show_no_qr(kind):
    message = received(kind, seat())
    assert qr_parts(message) == [] and CODE not in bodies(message)[0]


def test_a_confirmation_without_codes_still_goes_without_the_qr():
    """Facts written before check-in existed carry no token: the email is as it was."""
    message = received("registration_confirmed")
    assert qr_parts(message) == [] and "Código de registro" not in bodies(message)[0]
    assert len(ics_parts(message)) == 1
