"""zoomsim: a stand-in for Zoom (OAuth, the REST API, rate limits and webhooks) for tests, demos and benchmarks.

Zoom is never reachable from our machines, so everything that talks to Zoom talks
to this instead. It is written from Zoom's documentation, not from what our own
client sends, and it shares no code with the service: a bug mirrored on both sides
would hide itself. See README.md in this folder for what it reproduces and what not.
"""

from zoomsim.app import create_app
from zoomsim.config import SimConfig

__all__ = ["SimConfig", "create_app"]
