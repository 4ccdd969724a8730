import pytest

from config import load_settings


def test_defaults_give_sqlite_under_instance_and_embedded_redis(tmp_path):
    settings = load_settings({"INSTANCE_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'zoomsync.db'}"
    assert settings.uses_embedded_redis
    assert settings.webhook_secret_tokens == ()
    assert settings.webhook_max_age_seconds == 7200


def test_secret_tokens_are_a_comma_separated_list():
    settings = load_settings({"ZOOM_WEBHOOK_SECRET_TOKEN": " new , old ,,"})
    assert settings.webhook_secret_tokens == ("new", "old")


def test_environment_overrides():
    settings = load_settings(
        {
            "DATABASE_URL": "postgresql://x/y",
            "REDIS_URL": "redis://r:6379/0",
            "PORT": "8080",
            "ZOOM_WEBHOOK_MAX_AGE": "60",
        }
    )
    assert (settings.database_url, settings.redis_url, settings.port) == ("postgresql://x/y", "redis://r:6379/0", 8080)
    assert settings.webhook_max_age_seconds == 60
    assert not settings.uses_embedded_redis


def test_a_malformed_number_is_a_clear_error():
    with pytest.raises(ValueError, match="PORT must be an integer"):
        load_settings({"PORT": "eighty"})


def test_zoom_timeouts_are_seconds_from_the_environment_and_must_be_positive():
    assert (load_settings({}).zoom_connect_timeout, load_settings({}).zoom_read_timeout) == (5.0, 20.0)
    chosen = load_settings({"ZOOM_CONNECT_TIMEOUT": "1.5", "ZOOM_READ_TIMEOUT": "2"})
    assert (chosen.zoom_connect_timeout, chosen.zoom_read_timeout) == (1.5, 2.0)
    with pytest.raises(ValueError, match="ZOOM_READ_TIMEOUT must be a number of seconds"):
        load_settings({"ZOOM_READ_TIMEOUT": "soon"})
    with pytest.raises(ValueError, match="ZOOM_CONNECT_TIMEOUT must be more than 0"):
        load_settings({"ZOOM_CONNECT_TIMEOUT": "0"})


def test_zoom_settings_default_to_zoom_and_the_oauth_flow_needs_all_four():
    settings = load_settings({})
    assert (settings.zoom_api_base_url, settings.zoom_oauth_base_url) == ("https://api.zoom.us/v2", "https://zoom.us")
    assert not settings.zoom_oauth_configured
    env = {"ZOOM_CLIENT_ID": "c", "ZOOM_CLIENT_SECRET": "s", "ZOOM_REDIRECT_URL": "https://lms/cb", "SECRET_KEY": "k"}
    assert load_settings(env).zoom_oauth_configured
    for name in env:
        assert not load_settings({k: v for k, v in env.items() if k != name}).zoom_oauth_configured


def test_token_encryption_keys_are_a_list_for_rotation():
    assert load_settings({"TOKEN_ENCRYPTION_KEY": "new, old"}).token_encryption_keys == ("new", "old")


def test_outbound_jobs_run_inline_unless_the_environment_says_otherwise():
    assert load_settings({}).worker_inline_queues == ("outbound",)
    assert load_settings({"WORKER_INLINE_QUEUES": ""}).worker_inline_queues == ()  # every job forks
    assert load_settings({"WORKER_INLINE_QUEUES": "outbound, maintenance"}).worker_inline_queues == (
        "outbound",
        "maintenance",
    )
