import pytest

from commons.settings import DEV_SECRET_KEY, ConfigurationError, load_settings


def test_defaults_are_embedded_and_safe(tmp_path):
    settings = load_settings({"COMMONS_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path}/commons.sqlite3"
    assert settings.nats_url is None and settings.smtp_url is None
    assert settings.dev_mailbox_enabled and not settings.is_postgres


def test_production_refuses_the_default_secret(tmp_path):
    with pytest.raises(ConfigurationError, match="COMMONS_SECRET_KEY"):
        load_settings({"COMMONS_ENV": "production", "COMMONS_SMTP_URL": "smtp://mail:25"})


def test_production_with_real_settings_starts_and_has_no_dev_mailbox():
    settings = load_settings(
        {
            "COMMONS_ENV": "production",
            "COMMONS_SECRET_KEY": "x" * 40,
            "COMMONS_SMTP_URL": "smtp://mail.example.org:25",
            "COMMONS_DATABASE_URL": "postgresql://commons@db:5432/commons",
        }
    )
    assert settings.is_postgres and not settings.dev_mailbox_enabled
    assert settings.secret_key != DEV_SECRET_KEY


@pytest.mark.parametrize(
    ("name", "value"),
    [("COMMONS_DATABASE_URL", "mysql://x"), ("COMMONS_SMTP_URL", "mail.example.org")],
)
def test_malformed_urls_are_refused_with_a_clear_message(name, value):
    with pytest.raises(ConfigurationError, match=name):
        load_settings({name: value})


@pytest.mark.parametrize("value", ["0", "-2", "ten"])
def test_booking_rate_limit_must_be_a_positive_whole_number(value):
    with pytest.raises(ConfigurationError, match="COMMONS_BOOKING_RATE_LIMIT"):
        load_settings({"COMMONS_BOOKING_RATE_LIMIT": value})


def test_production_refuses_a_send_lease_shorter_than_a_send_can_take():
    production = {
        "COMMONS_ENV": "production",
        "COMMONS_SECRET_KEY": "x" * 40,
        "COMMONS_SMTP_URL": "smtp://mail:25",
        "COMMONS_DATABASE_URL": "postgresql://db/commons",
    }
    with pytest.raises(ConfigurationError, match="COMMONS_SEND_LEASE_SECONDS"):
        load_settings({**production, "COMMONS_SEND_LEASE_SECONDS": "10"})
    assert load_settings({**production, "COMMONS_SEND_LEASE_SECONDS": "120"}).send_lease_seconds == 120
    assert load_settings(production).send_lease_seconds == 300
