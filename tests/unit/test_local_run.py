"""`make run`'s development values (service/local_run.py): made once, kept, and never over the environment's."""

from __future__ import annotations

from service.local_run import DEVELOPMENT_SECRETS, service_env, where_to_look


def test_development_secrets_are_made_once_and_kept_owner_only(tmp_path):
    first = service_env({"INSTANCE_DIR": str(tmp_path)})
    again = service_env({"INSTANCE_DIR": str(tmp_path)})
    for name, file, _ in DEVELOPMENT_SECRETS:
        assert first[name] and first[name] == again[name] == (tmp_path / file).read_text().strip()
        assert (tmp_path / file).stat().st_mode & 0o077 == 0, file
    assert first["ADMIN_USERNAME"] == "admin"


def test_the_environment_always_wins(tmp_path):
    chosen = {
        "INSTANCE_DIR": str(tmp_path),
        "ADMIN_USERNAME": "ops",
        "ADMIN_PASSWORD": "chosen password",
        "METRICS_TOKEN": "chosen-metrics",
        "SECRET_KEY": "chosen-secret",
        "TOKEN_ENCRYPTION_KEY": "chosen-key",
        "ZOOM_WEBHOOK_SECRET_TOKEN": "chosen-webhook-secret",
        "API_TOKEN": "chosen-api-token",
    }
    env = service_env(chosen)
    assert {name: env[name] for name in chosen} == chosen
    assert not any((tmp_path / file).exists() for _, file, _ in DEVELOPMENT_SECRETS)  # nothing made


def test_where_to_look_names_each_url_with_its_credential(tmp_path):
    env = service_env({"INSTANCE_DIR": str(tmp_path), "PORT": "5123"})
    lines = where_to_look(env)
    assert f"http://127.0.0.1:5123/admin/   (user admin, password {env['ADMIN_PASSWORD']})" in lines
    assert (
        f"POST http://127.0.0.1:5123/webhooks/zoom   (ZOOM_WEBHOOK_SECRET_TOKEN={env['ZOOM_WEBHOOK_SECRET_TOKEN']})"
        in lines
    )
    assert f"(Authorization: Bearer {env['API_TOKEN']})" in lines
    assert f"http://127.0.0.1:5123/metrics             (Authorization: Bearer {env['METRICS_TOKEN']})" in lines
