"""A TCP proxy that can cut a server off, as a crashed or unreachable server looks to its clients.

Put between the service and PostgreSQL: `cut()` closes every open connection
and refuses new ones (connection refused, as from a stopped server), without
stopping a server that other processes share; `restore()` lets clients in again.

It can also break one moment of a conversation, found by the bytes that mark it
(PostgreSQL's COMMIT, say): `drop_at(pattern)` closes a connection when its
client sends the pattern, which is never forwarded (the server rolls the
transaction back), keeping what the client had sent since the last one;
`hold_at(pattern)` keeps back the server's reply that carries the pattern (the
server has done the work; its client never hears so), until `release()`.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading
import time


class TcpProxy:
    def __init__(self, target: tuple[str, int], host: str = "127.0.0.1", port: int = 0) -> None:
        self.target = target
        self.host, self.port = host, port
        self._listener: socket.socket | None = None
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self.accepted = 0  # connections let through, over the proxy's life
        self._drop: tuple[bytes, float] | None = None
        self._hold: bytes | None = None
        self._sent: dict[socket.socket, bytearray] = {}  # per client: what it sent since `drop_at`
        self.dropped: list[bytes] = []  # what each dropped client had sent in its cut-off exchange
        self.held: list[tuple[socket.socket, socket.socket]] = []
        self.holding = threading.Event()  # set once a reply is held

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def start(self) -> TcpProxy:
        self._listen()
        return self

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(128)
        self.port = listener.getsockname()[1]  # the same port after a restore: clients keep their URL
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), name="tcp-proxy-accept", daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed: cut or stopped
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            pair = (client, upstream)
            with self._lock:
                self._pairs.add(pair)
                self.accepted += 1
            threading.Thread(target=self._pump, args=(pair,), name="tcp-proxy-pump", daemon=True).start()

    def _pump(self, pair: tuple[socket.socket, socket.socket]) -> None:
        client, upstream = pair
        peer = {client: upstream, upstream: client}
        with selectors.DefaultSelector() as selector:
            selector.register(client, selectors.EVENT_READ)
            selector.register(upstream, selectors.EVENT_READ)
            try:
                while True:
                    for key, _ in selector.select(timeout=1.0):
                        data = key.fileobj.recv(65536)
                        if not data:
                            return
                        if key.fileobj is client and self._dropping(client, data):
                            return
                        if key.fileobj is upstream and self._holding(pair, data):
                            selector.unregister(upstream)  # nothing more from the server reaches this client
                            continue
                        peer[key.fileobj].sendall(data)
                    if self._stopped.is_set():
                        return
            except OSError:
                return
            finally:
                self._close(pair)

    def _dropping(self, client: socket.socket, data: bytes) -> bool:
        """Whether this data from a client ends its connection unsent (the `drop_at` pattern in it)."""
        drop = self._drop
        if drop is None:
            self._sent.pop(client, None)
            return False
        sent = self._sent.setdefault(client, bytearray())  # kept only while armed
        sent += data
        if drop[0] not in data:
            return False
        time.sleep(drop[1])  # the exchange stays open a moment: more clients queue behind it
        with self._lock:
            self.dropped.append(bytes(sent))
        self._sent.pop(client, None)
        return True

    def _holding(self, pair: tuple[socket.socket, socket.socket], data: bytes) -> bool:
        if self._hold is None or self._hold not in data:
            return False
        with self._lock:
            self.held.append(pair)
        self.holding.set()
        return True

    def drop_at(self, pattern: bytes, delay: float = 0.0) -> None:
        """From now on, a client that sends `pattern` loses its connection `delay` seconds later, unsent."""
        self._drop = (pattern, delay)

    def hold_at(self, pattern: bytes) -> None:
        """From now on, a server reply with `pattern` in it, and all after it on its connection, is kept back."""
        self._hold = pattern

    def release(self) -> None:
        """Back to passing everything; the connections whose replies were held are closed."""
        self._drop = self._hold = None
        with self._lock:
            held, self.held = self.held, []
        for pair in held:
            self._close(pair)
        self.holding.clear()

    def _close(self, pair: tuple[socket.socket, socket.socket]) -> None:
        with self._lock:
            self._pairs.discard(pair)
        self._sent.pop(pair[0], None)
        for sock in pair:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def cut(self) -> None:
        """The server is gone: open connections drop, new ones are refused."""
        if self._listener is not None:
            # shutdown() first: on Linux, close() alone leaves a thread blocked in accept() accepting.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            pairs = list(self._pairs)
        for pair in pairs:
            self._close(pair)

    def restore(self) -> None:
        """The server is back, on the same address."""
        if self._listener is None:
            self._listen()

    @property
    def is_cut(self) -> bool:
        return self._listener is None

    def stop(self) -> None:
        self._stopped.set()
        self.cut()
