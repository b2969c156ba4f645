"""Where a webhook may be sent: https, to a host whose every address is public.

A webhook is a request our servers make to a URL someone typed, so a URL naming the
municipality's own network (a database, a metadata service, the loopback) would let an
integrator reach inside it. The host is resolved when the endpoint is registered and the
address actually connected to is checked again at each send (DNS may change meanwhile).
"""
import ipaddress
import socket
from urllib.parse import urlsplit

from shared.domain_errors import InvalidField


def not_public(address):
    """Why `address` (an IP in text) is not a public one, or None if it is."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # fe80::1%eth0: the zone is not the IP
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for why, flagged in (("loopback", ip.is_loopback), ("link-local", ip.is_link_local),
                         ("multicast", ip.is_multicast), ("unspecified", ip.is_unspecified),
                         ("reserved", ip.is_reserved), ("private", ip.is_private)):
        if flagged:
            return why
    return None


def check(url, allow_private, allow_http, resolve=socket.getaddrinfo):
    """Refuse (InvalidField on `url`) a URL a webhook may not go to."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidField("url", "is not a URL.") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidField("url", "must be an https:// URL with a host.")
    if parts.scheme == "http" and not allow_http:
        raise InvalidField("url", "must use https: the events it receives are signed, not hidden.")
    if parts.username is not None or parts.password is not None:
        raise InvalidField("url", "must not hold a user or password; the signature proves "
                                  "the sender.")
    if allow_private:
        return
    try:
        found = {info[4][0] for info in resolve(parts.hostname, port or 443, type=socket.SOCK_STREAM)}
    except (socket.gaierror, UnicodeError):
        raise InvalidField("url", f"names a host that does not resolve: {parts.hostname}.") from None
    for address in sorted(found):
        why = not_public(address)
        if why:
            raise InvalidField("url", f"resolves to {address}, a {why} address; webhooks go "
                                      "only to public addresses.")
