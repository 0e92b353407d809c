"""
Clients that misbehave, for `bench/run.py --servers`: connections held open without a
request or with a body that never ends, clients that hang up mid-request, and one-off
requests timed with a deadline. Everything here talks to 127.0.0.1 only and gives up
after a timeout: a server that hangs shows as "timed out", never as a stuck bench.
"""

from __future__ import annotations

import http.client
import re
import socket
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


@dataclass
class Answer:
    """What one request got: the status (None when it failed) and how long it took."""

    status: int | None
    seconds: float
    body: bytes = b""
    error: str = ""

    @property
    def text(self) -> str:
        if self.status is None:
            return self.error or "no answer"
        return f"{self.status} in {self.seconds:.1f} s"


def request(
    port: int, method: str, path: str, *, body: bytes | None = None, timeout: float = 5
) -> Answer:
    """Send one request on a new connection; return its answer or why there was none."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        return Answer(resp.status, time.monotonic() - started, data)
    except TimeoutError:
        return Answer(None, time.monotonic() - started, error=f"timed out after {timeout:g} s")
    except OSError as exc:
        return Answer(None, time.monotonic() - started, error=type(exc).__name__)
    finally:
        conn.close()


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _partial_post(path: str, declared: int = 100) -> bytes:
    """Headers that announce ``declared`` bytes of body, and only the first 10 of them."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {declared}\r\n\r\n"
    )
    return head.encode() + b'{"secret":'  # 10 bytes


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset, as a client that crashed or lost its network would."""
    with suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


@contextmanager
def held_connections(port: int, *, idle: int, slow_paths: list[str]) -> Iterator[int]:
    """
    Hold ``idle`` connections that send nothing and one connection per slow path that sends
    its headers and 10 of the 100 body bytes it announced; yield how many were opened, and
    close them all afterwards (the slow ones by a reset: a client gone mid-body).
    """
    idle_socks: list[socket.socket] = []
    slow_socks: list[socket.socket] = []
    try:
        for _ in range(idle):
            with suppress(OSError):
                idle_socks.append(_connect(port))
        for path in slow_paths:
            with suppress(OSError):
                sock = _connect(port)
                slow_socks.append(sock)
                sock.sendall(_partial_post(path))
        yield len(idle_socks) + len(slow_socks)
    finally:
        for sock in idle_socks:
            sock.close()
        for sock in slow_socks:
            _reset(sock)


def hang_up_mid_body(port: int, path: str, *, reset: bool) -> None:
    """Send a request's headers and part of its body, then close or reset the connection."""
    with suppress(OSError):
        sock = _connect(port)
        sock.sendall(_partial_post(path))
        time.sleep(0.2)
        if reset:
            _reset(sock)
        else:
            sock.close()


def body_never_sent(port: int, path: str, *, timeout: float) -> Answer:
    """
    Send headers and 10 of the 100 body bytes they announce, never the rest; return what
    the server answered and when, if it did within ``timeout`` seconds.
    """
    started = time.monotonic()
    try:
        sock = _connect(port)
    except OSError as exc:
        return Answer(None, 0.0, error=type(exc).__name__)
    received = b""
    try:
        sock.sendall(_partial_post(path))
        sock.settimeout(timeout)
        while b"\r\n" not in received:
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
    except TimeoutError:
        return Answer(None, time.monotonic() - started, error=f"no answer in {timeout:g} s")
    except OSError as exc:
        return Answer(None, time.monotonic() - started, error=type(exc).__name__)
    finally:
        _reset(sock)
    seconds = time.monotonic() - started
    status = re.match(rb"HTTP/1\.[01] (\d{3})", received)
    if status:
        return Answer(int(status[1]), seconds, received)
    return Answer(None, seconds, error=f"closed without an answer after {seconds:.1f} s")


def hang_up_before_answer(port: int, path: str) -> None:
    """Send a whole request, then reset the connection before the answer can arrive."""
    with suppress(OSError):
        sock = _connect(port)
        body = b"{}"
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        _reset(sock)


def full_ids(text: str) -> set[str]:
    """Return every full UUID in ``text``, lower-cased."""
    return {m.lower() for m in UUID.findall(text)}
