"""Running the simulator: in a background thread of the current process (pytest, the demo), or standalone.

Werkzeug's threaded server is enough for what Zoom has to do here: tens of
requests per second under Zoom's own rate limits.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from functools import cached_property

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from zoomsim.app import EXTENSION_KEY, Simulator, create_app
from zoomsim.client import SimClient
from zoomsim.config import SimConfig


class _Handler(WSGIRequestHandler):
    """One access-log line per request only at DEBUG: tests and the demo want quiet."""

    def log_request(self, code="-", size="-") -> None:
        if logging.getLogger("zoomsim").isEnabledFor(logging.DEBUG):
            super().log_request(code, size)


@dataclass
class RunningSimulator:
    url: str
    sim: Simulator
    server: BaseWSGIServer
    thread: threading.Thread

    @cached_property
    def control(self) -> SimClient:
        return SimClient(self.url)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
        self.sim.dispatcher.stop()


def serve_in_thread(config: SimConfig, host: str = "127.0.0.1", port: int = 0) -> RunningSimulator:
    """Start on a free port (port 0) and return at once; `stop()` ends it."""
    app = create_app(config)
    server = make_server(host, port, app, threaded=True, request_handler=_Handler)
    url = f"http://{host}:{server.server_port}"
    sim: Simulator = app.extensions[EXTENSION_KEY]
    if not config.public_url:
        sim.world.public_url = url
    sim.dispatcher.start()
    thread = threading.Thread(target=server.serve_forever, name="zoomsim-http", daemon=True)
    thread.start()
    return RunningSimulator(url, sim, server, thread)
