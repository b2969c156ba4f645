"""Who one client is for the rate limits: IPv4 as is, IPv6 by its /64, mapped IPv4 as IPv4."""
import pytest
from flask import Flask

from shared.ratelimit import address_key, client_key


@pytest.mark.parametrize("address, key", [
    ("203.0.113.7", "203.0.113.7"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:DB8:1:2::ffff", "2001:db8:1:2::/64"),       # same /64, other spelling
    ("2001:db8:1:3::1", "2001:db8:1:3::/64"),           # the next /64 is another client
    ("2001:db8::", "2001:db8::/64"),
    ("::ffff:203.0.113.7", "203.0.113.7"),              # a dual-stack socket's IPv4 client
    ("::ffff:cb00:7107", "203.0.113.7"),                # the same, in hex
    ("fe80::1:2:3:4%eth0", "fe80::/64"),                # a zone does not make a new client
    ("::1", "::/64"),
    ("", "unknown"),                                    # a Unix socket has no address
    ("not-an-address", "not-an-address"),
])
def test_address_key(address, key):
    assert address_key(address) == key


def test_two_addresses_of_one_64_are_one_client_and_of_two_64s_are_two():
    assert address_key("2001:db8:a:b::1") == address_key("2001:db8:a:b:ffff:ffff:ffff:ffff")
    assert address_key("2001:db8:a:b::1") != address_key("2001:db8:a:c::1")


def test_client_key_reads_the_requests_remote_address():
    app = Flask(__name__)
    with app.test_request_context(environ_base={"REMOTE_ADDR": "2001:db8:5:6:7::8"}):
        assert client_key() == "2001:db8:5:6::/64"
    with app.test_request_context(environ_base={"REMOTE_ADDR": "::ffff:192.0.2.1"}):
        assert client_key() == "192.0.2.1"
