"""A kept message as a mail client shows it: the headers people read, the text decoded, and
the attachments by name, type and size (the raw MIME is for `mail show --raw`)."""
from email import message_from_bytes, policy

HEADERS = ("From", "To", "Cc", "Reply-To", "Subject", "Date")


def as_read(raw):
    """The message's text, for a terminal."""
    message = message_from_bytes(raw, policy=policy.default)
    lines = [f"{name}: {message[name]}" for name in HEADERS if message[name] is not None]
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else None
    if text is None:
        html = message.get_body(preferencelist=("html",))
        text = "(no text part; the HTML part is in --raw)" if html is not None else ""
    # SMTP carries CRLF; a terminal's lines end in LF, or a link copied from one ends in \r
    lines += ["", text.replace("\r\n", "\n").rstrip("\n"), ""]
    attachments = list(message.iter_attachments()) if message.is_multipart() else []
    if attachments:
        lines.append(f"Attachments ({len(attachments)}):")
        for part in attachments:
            size = len(part.get_payload(decode=True) or b"")
            lines.append(f"  {part.get_filename() or '(no name)'}  {part.get_content_type()}"
                         f"  {_size(size)}")
    return "\n".join(lines) + "\n"


def _size(octets):
    return f"{octets} bytes" if octets < 1024 else f"{octets / 1024:.1f} KiB"
