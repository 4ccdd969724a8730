"""The fault tools themselves: a cut proxy looks like a stopped server, a restored one like a restarted one."""

from __future__ import annotations

import socket
import socketserver
import threading

import pytest

from chaos.tcp_proxy import TcpProxy


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(1024):
            self.request.sendall(data)


@pytest.fixture
def echo_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address
    server.shutdown()
    server.server_close()


def _echo(address, payload: bytes = b"ping") -> bytes:
    with socket.create_connection(address, timeout=2) as conn:
        conn.sendall(payload)
        return conn.recv(1024)


def test_the_proxy_passes_traffic_through(echo_server):
    proxy = TcpProxy(echo_server).start()
    try:
        assert _echo(proxy.address) == b"ping" and proxy.accepted == 1
    finally:
        proxy.stop()


def test_cut_drops_open_connections_and_refuses_new_ones_until_restored(echo_server):
    proxy = TcpProxy(echo_server).start()
    try:
        conn = socket.create_connection(proxy.address, timeout=2)
        conn.sendall(b"a")
        assert conn.recv(16) == b"a"
        proxy.cut()
        assert proxy.is_cut
        assert conn.recv(16) == b""  # the open connection is gone
        conn.close()
        with pytest.raises(ConnectionRefusedError):
            _echo(proxy.address)
        proxy.restore()
        assert _echo(proxy.address, b"back") == b"back"  # on the same address
    finally:
        proxy.stop()
