"""`make run`: the service on embedded defaults, from the Procfile, in one terminal.

Starts (or joins) the embedded Redis when REDIS_URL is unset, applies migrations
(the Procfile's `release`), then runs its `web` and `worker` lines until Ctrl-C.
Secrets left unset get development values printed on start (the admin login, the
webhook secret, the API and metrics tokens), kept in the instance directory, so a
curl example works across restarts, the dashboards open, and `make doctor` (the
doctor with this same environment) checks what `make run` started.
"""

from __future__ import annotations

import os
import secrets
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from config import load_settings
from service.broker import embedded_redis_socket
from service.token_box import new_key

ROOT = Path(__file__).resolve().parent.parent


def procfile(path: Path = ROOT / "Procfile") -> dict[str, str]:
    entries = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


def _die_with_parent() -> None:
    """Linux: a child gets SIGTERM when this launcher dies, however it dies, so nothing is orphaned."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def stop_on_signals() -> None:
    """SIGTERM and SIGHUP end the launcher as Ctrl-C does, so its children are stopped too."""
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    signal.signal(signal.SIGHUP, _stop_on_sigterm)


def _stop_on_sigterm(_signum, _frame) -> None:
    raise KeyboardInterrupt


def service_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment `make run` gives the Procfile's processes: the caller's, plus development defaults."""
    env = dict(os.environ if base is None else base)
    env.setdefault("PORT", "5000")
    env.setdefault("ADMIN_COOKIE_SECURE", "false")  # plain HTTP on localhost
    env.setdefault("LOG_FORMAT", "text")  # a person reads these
    env.setdefault("ADMIN_USERNAME", "admin")
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    settings = load_settings(env)
    # Kept in the instance directory, so a restart keeps the admin's login, session and stored Zoom tokens.
    for name, file, make in DEVELOPMENT_SECRETS:
        if not env.get(name):
            env[name] = development_secret(settings.instance_dir, file, make)
    if settings.uses_embedded_redis:
        env["REDIS_URL"] = "unix://" + embedded_redis_socket(settings)
    return env


DEVELOPMENT_SECRETS = (
    ("ZOOM_WEBHOOK_SECRET_TOKEN", "dev-webhook-secret", lambda: "dev-webhook-secret-" + secrets.token_hex(8)),
    ("API_TOKEN", "dev-api-token", lambda: "dev-api-token-" + secrets.token_hex(8)),
    ("TOKEN_ENCRYPTION_KEY", "dev-token-encryption.key", new_key),
    ("SECRET_KEY", "dev-secret-key", lambda: secrets.token_urlsafe(32)),
    ("ADMIN_PASSWORD", "dev-admin-password", lambda: secrets.token_urlsafe(12)),
    ("METRICS_TOKEN", "dev-metrics-token", lambda: "dev-metrics-" + secrets.token_hex(8)),
)


def development_secret(instance_dir: Path, file: str, make) -> str:
    """A secret kept in the instance directory (mode 0600), made once: `make run`'s only, never production's.

    Production sets each from its secret store; an environment value always wins.
    """
    path = instance_dir / file
    if not path.exists():
        instance_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(make())
    return path.read_text().strip()


def where_to_look(env: dict[str, str]) -> str:
    """The lines `make run` (and `make demo`) print: every URL with the credential it takes."""
    url = f"http://127.0.0.1:{env['PORT']}"
    return (
        f"  admin:    {url}/admin/   (user {env['ADMIN_USERNAME']}, password {env['ADMIN_PASSWORD']})\n"
        f"  webhook:  POST {url}/webhooks/zoom   (ZOOM_WEBHOOK_SECRET_TOKEN={env['ZOOM_WEBHOOK_SECRET_TOKEN']})\n"
        f"  LMS API:  {url}/api/v1/...          (Authorization: Bearer {env['API_TOKEN']})\n"
        f"  metrics:  {url}/metrics             (Authorization: Bearer {env['METRICS_TOKEN']})\n"
    )


def start_service(env: dict[str, str]) -> list[subprocess.Popen]:
    """Run the Procfile's `release`, then start its `web` and `worker` lines."""
    entries = procfile()
    subprocess.run(["bash", "-c", entries["release"]], cwd=ROOT, env=env, check=True)
    return [
        subprocess.Popen(
            ["bash", "-c", "exec " + entries[name]],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        for name in ("web", "worker")
    ]


def stop_service(children: list[subprocess.Popen]) -> int:
    for child in children:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    return max((child.returncode or 0) for child in children)


def wait_while_running(children: list[subprocess.Popen]) -> None:
    """Until Ctrl-C, SIGTERM, or one of the processes exits."""
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass


def wait_until_answering(env: dict[str, str], children: list[subprocess.Popen], timeout: float = 60.0) -> bool:
    """Until the web process answers its health check (what "running" means), or a process exits."""
    url = f"http://127.0.0.1:{env['PORT']}/healthz"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and all(child.poll() is None for child in children):
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return True
        except OSError:  # not listening yet (URLError is an OSError)
            pass
        time.sleep(0.2)
    return False


def doctor(env: dict[str, str]) -> int:
    """`make doctor`: the doctor with the environment `make run` gives its processes (same stores, secrets)."""
    command = [sys.executable, "-m", "flask", "--app", "service.app:create_app", "doctor"]
    return subprocess.run(command, cwd=ROOT, env=env).returncode


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["doctor"]:
        return doctor(service_env())
    stop_on_signals()
    env = service_env()
    children = start_service(env)
    if not wait_until_answering(env, children):
        print("zoomsync did not answer on its port: see the lines above", file=sys.stderr, flush=True)
        stop_service(children)
        return 1
    stores = f"  database: {load_settings(env).database_url}\n  redis:    {shlex.quote(env['REDIS_URL'])}\n"
    running = f"\nzoomsync is running at http://127.0.0.1:{env['PORT']}\n"
    print(f"{running}{where_to_look(env)}{stores}Ctrl-C stops it.\n", flush=True)
    try:
        wait_while_running(children)
    finally:
        code = stop_service(children)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
