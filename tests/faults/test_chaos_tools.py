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


def test_drop_at_closes_a_connection_on_its_pattern_unsent_and_keeps_what_the_client_had_said(echo_server):
    proxy = TcpProxy(echo_server).start()
    try:
        proxy.drop_at(b"COMMIT")
        conn = socket.create_connection(proxy.address, timeout=2)
        conn.sendall(b"INSERT 1;")
        assert conn.recv(16) == b"INSERT 1;"  # before the pattern, everything passes
        conn.sendall(b"COMMIT;")
        assert conn.recv(16) == b""  # closed: the server never saw the pattern, so it echoed nothing
        conn.close()
        assert proxy.dropped == [b"INSERT 1;COMMIT;"]
        proxy.release()
        assert _echo(proxy.address, b"COMMIT") == b"COMMIT"  # released: the pattern passes again
    finally:
        proxy.stop()


def test_hold_at_keeps_back_the_reply_with_its_pattern_until_released(echo_server):
    proxy = TcpProxy(echo_server).start()
    try:
        proxy.hold_at(b"DONE")
        assert _echo(proxy.address, b"ping") == b"ping"
        conn = socket.create_connection(proxy.address, timeout=0.5)
        conn.sendall(b"DONE")
        with pytest.raises(TimeoutError):
            conn.recv(16)  # the server answered; the answer is held
        assert proxy.holding.is_set() and len(proxy.held) == 1
        proxy.release()
        conn.settimeout(2)
        assert conn.recv(16) == b""  # released: the held connection is closed, its reply never sent
        conn.close()
    finally:
        proxy.stop()
