"""`python -m zoomsim --port 9100 --webhook-url http://127.0.0.1:5000/webhooks/zoom`: a standalone Zoom.

Secrets come from flags or the environment (ZOOMSIM_WEBHOOK_SECRET, else
ZOOM_WEBHOOK_SECRET_TOKEN as the service reads it; ZOOMSIM_CLIENT_SECRET...).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from zoomsim.config import SimConfig
from zoomsim.server import serve_in_thread


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m zoomsim", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9100, help="port (0 picks a free one)")
    parser.add_argument("--webhook-url", action="append", default=[], help="where webhooks go (repeatable)")
    parser.add_argument("--webhook-secret", help="the event subscription's secret token")
    parser.add_argument("--client-id", help="OAuth app client id")
    parser.add_argument("--client-secret", help="OAuth app client secret")
    parser.add_argument("--redirect-uri", action="append", default=[], help="allowed OAuth redirect URL (repeatable)")
    parser.add_argument("--s2s-client-id", help="Server-to-Server app client id")
    parser.add_argument("--s2s-client-secret", help="Server-to-Server app client secret")
    parser.add_argument("--account-id", help="the default account's id")
    parser.add_argument("--plan", choices=("pro", "business"), help="the default account's plan (rate limits)")
    parser.add_argument("--token-ttl", type=int, help="access token lifetime in seconds (default 3600)")
    parser.add_argument("--spec-dir", type=Path, help="folder with Zoom's OpenAPI files (default ../shared/zoom)")
    levers = parser.add_mutually_exclusive_group()
    levers.add_argument("--control", action="store_true", default=None, help="serve the /_sim/ levers")
    levers.add_argument("--no-control", dest="control", action="store_false", help="do not (the default)")
    parser.add_argument("--retry-scale", type=float, help="compress Zoom's 5/20/60-minute retry schedule")
    parser.add_argument("--seed", type=int, help="seed for ids and shuffles")
    return parser.parse_args(argv)


def config_from(args: argparse.Namespace) -> SimConfig:
    overrides = {
        name: value
        for name, value in {
            "webhook_secret": args.webhook_secret,
            "client_id": args.client_id,
            "client_secret": args.client_secret,
            "s2s_client_id": args.s2s_client_id,
            "s2s_client_secret": args.s2s_client_secret,
            "account_id": args.account_id,
            "plan": args.plan,
            "token_ttl": args.token_ttl,
            "spec_dir": args.spec_dir,
            "retry_scale": args.retry_scale,
            "seed": args.seed,
        }.items()
        if value is not None
    }
    if args.webhook_url:
        overrides["webhook_urls"] = tuple(args.webhook_url)
    if args.redirect_uri:
        overrides["redirect_uris"] = tuple(args.redirect_uri)
    if args.control is not None:
        overrides["control"] = args.control
    return SimConfig.from_env(**overrides)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parse_args(sys.argv[1:] if argv is None else argv)
    config = config_from(args)
    stop: list[int] = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    running = serve_in_thread(config, args.host, args.port)
    print(
        f"zoomsim listening on {running.url}\n"
        f"  OAuth:    {running.url}/oauth/authorize, /oauth/token (client {config.client_id})\n"
        f"  API:      {running.url}/v2\n"
        f"  webhooks: {', '.join(config.webhook_urls) or '(no target: --webhook-url)'}\n"
        f"  control:  {running.url + '/_sim/state' if config.control else 'off'}\n"
        f"  {running.sim.describe()}",
        flush=True,
    )
    try:
        while not stop:
            signal.pause() if hasattr(signal, "pause") else running.thread.join(1)
    except KeyboardInterrupt:
        pass
    running.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
