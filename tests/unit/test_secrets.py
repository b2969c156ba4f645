"""SECRET_KEY fails closed outside development; each purpose signs with its own derived key;
SECRET_KEY_FALLBACKS lets a key be rotated without breaking the links already sent."""
import pytest

from shared import config, signing

GOOD = "k" * 31 + "1"  # 32 characters: the least accepted
OLD = "an-older-key-that-was-rotated-out-0001"
PURPOSE = "cancel-registration"


@pytest.fixture
def production(monkeypatch):
    """No ABIERTO_ENV at all: production is what a process gets unless told otherwise."""
    monkeypatch.delenv("ABIERTO_ENV", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("SECRET_KEY_FALLBACKS", raising=False)
    return monkeypatch


@pytest.mark.parametrize("secret, says", [
    (None, "is not set"),
    (config.DEV_SECRET_KEY, "built-in development key"),
    ("change-me", "a default this project shipped"),
    ("k" * 31, "has 31 characters; it needs at least 32"),
])
def test_outside_development_a_known_or_short_key_stops_the_process(production, secret, says):
    if secret is not None:
        production.setenv("SECRET_KEY", secret)
    with pytest.raises(config.ConfigError) as error:
        config.load_process("registration")
    message = str(error.value)
    assert message.startswith("SECRET_KEY ") and says in message and "\n" not in message
    assert config.MAKE_A_KEY in message


def test_a_shipped_default_is_refused_even_if_it_were_long(production, monkeypatch):
    monkeypatch.setattr(config, "SHIPPED_SECRET_KEYS", config.SHIPPED_SECRET_KEYS | {GOOD})
    production.setenv("SECRET_KEY", GOOD)
    with pytest.raises(config.ConfigError, match="default this project shipped"):
        config.load_process("registration")


@pytest.mark.parametrize("environment", ["production", "staging", "Development", "dev"])
def test_only_the_exact_word_development_relaxes_the_rule(production, environment):
    production.setenv("ABIERTO_ENV", environment)
    with pytest.raises(config.ConfigError, match="SECRET_KEY"):
        config.load_process("registration")


def test_no_key_anyone_could_know_signs_even_where_no_process_checked(production, monkeypatch):
    """Operator commands load settings without the start-up check; signing still refuses."""
    monkeypatch.setenv("SECRET_KEY", "change-me")
    settings = config.load("registration")
    with pytest.raises(config.ConfigError, match="default this project shipped"):
        settings.keys


def test_a_long_unknown_key_starts(production):
    production.setenv("SECRET_KEY", GOOD)
    assert config.load_process("registration").secret_key == GOOD


def test_development_runs_with_the_built_in_key(production):
    production.setenv("ABIERTO_ENV", "development")
    assert config.load_process("registration").secret_key == config.DEV_SECRET_KEY


@pytest.mark.parametrize("fallbacks", ["change-me", f"{OLD},short", f"{OLD}, ,dev-only-not-secret"])
def test_fallbacks_follow_the_same_rule(production, fallbacks):
    production.setenv("SECRET_KEY", GOOD)
    production.setenv("SECRET_KEY_FALLBACKS", fallbacks)
    with pytest.raises(config.ConfigError, match="^SECRET_KEY_FALLBACKS "):
        config.load_process("registration")


def test_fallbacks_are_read_comma_separated(production):
    production.setenv("SECRET_KEY", GOOD)
    production.setenv("SECRET_KEY_FALLBACKS", f" {OLD} ,, {'z' * 40}")
    assert config.load("registration").keys == signing.Keys(GOOD, (OLD, "z" * 40))


# --- derived keys and rotation ------------------------------------------------------------------

def test_each_purpose_has_its_own_key_and_none_is_the_secret_itself():
    purposes = [PURPOSE, "confirm-subscription", "unsubscribe", signing.SESSION]
    derived = [signing.derive(GOOD, purpose) for purpose in purposes]
    assert len(set(derived)) == len(purposes) and GOOD not in derived
    assert signing.derive(GOOD, PURPOSE) == signing.derive(GOOD, PURPOSE)  # stable across restarts
    assert signing.derive(OLD, PURPOSE) != signing.derive(GOOD, PURPOSE)


def test_a_link_signed_with_a_fallback_key_still_verifies_and_new_links_use_the_current_key():
    before = signing.sign(signing.Keys(OLD), PURPOSE, 42)
    rotated = signing.Keys(GOOD, (OLD,))
    assert signing.unsign(rotated, PURPOSE, before, 3600) == 42
    after = signing.sign(rotated, PURPOSE, 42)
    assert signing.unsign(signing.Keys(GOOD), PURPOSE, after, 3600) == 42  # signed by GOOD
    with pytest.raises(signing.LinkInvalid):
        signing.unsign(signing.Keys(OLD), PURPOSE, after, 3600)


def test_a_key_removed_from_the_fallbacks_no_longer_verifies():
    before = signing.sign(signing.Keys(OLD), PURPOSE, 42)
    with pytest.raises(signing.LinkInvalid) as error:
        signing.unsign(signing.Keys(GOOD), PURPOSE, before, 3600)
    assert error.value.expired is False


def test_a_link_for_one_purpose_does_not_verify_for_another_even_through_a_fallback():
    keys = signing.Keys(GOOD, (OLD,))
    for signer in (keys, signing.Keys(OLD)):
        token = signing.sign(signer, "confirm-subscription", 42)
        for other in (PURPOSE, "unsubscribe"):
            with pytest.raises(signing.LinkInvalid):
                signing.unsign(keys, other, token, 3600)
