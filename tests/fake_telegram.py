"""
A small stand-in for the Telegram Bot API on 127.0.0.1: the real bot client (PTB) talks
HTTP to it through TELEGRAM_API_BASE_URL. Tests queue updates and read what was sent.
make_update builds the updates, for the fake and for the webhook alike.
"""

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

BOT = {
    "id": 700000001,
    "is_bot": True,
    "first_name": "OneTime",
    "username": "onetime_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


def make_update(
    text: str | None = "/code",
    *,
    user_id: int = 4242,
    username: str | None = "alice",
    first_name: str = "Alice",
    chat_type: str = "private",
    chat_id: int | None = None,
    update_id: int = 1,
    date: int = 1_772_366_400,
    **message: Any,
) -> dict[str, Any]:
    """
    Return an update with a text message as Telegram delivers it, a command with its
    entity; ``message`` adds or replaces fields of the message ("chat", "from", "sticker").
    """
    sender: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if username:
        sender["username"] = username
    chat: dict[str, Any] = {"id": chat_id or user_id, "type": chat_type}
    if chat_type == "private":
        chat["first_name"] = first_name
    else:
        chat["title"] = "A group"
    body: dict[str, Any] = {"message_id": update_id, "date": date, "chat": chat, "from": sender}
    if text is not None:
        body["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"update_id": update_id, "message": {**body, **message}}


class FakeTelegram:
    def __init__(self, token: str) -> None:
        self.token = token
        self.sent: list[dict[str, Any]] = []
        self.calls: list[str] = []
        # Every call with its parameters, in order: (method, params).
        self.requests: list[tuple[str, dict[str, Any]]] = []
        # Messages the bot deleted: (chat_id, message_id).
        self.deleted: list[tuple[int, int]] = []
        # Answers to give instead of the normal one, per method, first queued first.
        self._faults: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        # Seconds to hold the answer to a call that took effect (only sendMessage reads it: the
        # message counts as sent while its sender still waits for the answer).
        self.delays: dict[str, float] = {}
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._changed = threading.Condition()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits for it, once per test that starts a fake.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> "FakeTelegram":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        """Forget what was sent and called, and drop queued faults, delays and updates."""
        with self._changed:
            self.sent.clear()
            self.calls.clear()
            self.requests.clear()
            self.deleted.clear()
            self._faults.clear()
            self.delays.clear()
            self._updates.clear()

    def push_message(
        self,
        text: str,
        *,
        user_id: int = 4242,
        chat_type: str = "private",
        chat_id: int | None = None,
        username: str | None = "alice",
        first_name: str = "Alice",
    ) -> int:
        """Queue a text message update, as Telegram would deliver it; return its update_id."""
        with self._changed:
            update_id = self._next_update_id
            self._next_update_id += 1
            self._updates.append(
                make_update(
                    text,
                    user_id=user_id,
                    username=username,
                    first_name=first_name,
                    chat_type=chat_type,
                    chat_id=chat_id,
                    update_id=update_id,
                    date=int(time.time()),
                )
            )
            self._changed.notify_all()
        return update_id

    def wait_for_sent(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Wait until at least ``count`` messages were sent; return them all."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.sent) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} sent messages, got {self.sent!r}")
                self._changed.wait(left)
            return list(self.sent)

    def fail(
        self,
        method: str,
        *,
        status: int = 500,
        description: str = "Internal Server Error",
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """
        Make the next ``times`` calls of ``method`` fail as the Bot API fails: ``status``
        with ``{"ok": false, "error_code", "description"}``, and for a 429 the
        ``parameters.retry_after`` that asks the client to wait. A failed call is recorded
        in ``calls`` and ``requests`` but has no effect (nothing is sent or deleted).
        """
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        with self._changed:
            self._faults.setdefault(method, []).extend([(status, body)] * times)

    def _fault(self, method: str) -> tuple[int, dict[str, Any]] | None:
        with self._changed:
            queued = self._faults.get(method)
            return queued.pop(0) if queued else None

    def wait_for(
        self, matches: Callable[[dict[str, Any]], bool], timeout: float = 20.0
    ) -> dict[str, Any]:
        """Wait until a sent message ``matches``; return the first that does."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [m for m in self.sent if matches(m)]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no matching message within {timeout} s")
                self._changed.wait(left)

    # --- the HTTP side ---------------------------------------------------------------------

    def params_of(self, method: str) -> list[dict[str, Any]]:
        """Return the parameters of every call of ``method``, oldest first."""
        return [params for name, params in self.requests if name == method]

    def wait_for_call(self, method: str, timeout: float = 20.0) -> None:
        """Wait until the bot has called ``method`` (e.g. getUpdates: it is polling)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while method not in self.calls:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {method} call within {timeout} s: {self.calls!r}")
                self._changed.wait(left)

    def _api(self, method: str, params: dict[str, Any]) -> Any:
        with self._changed:
            self.calls.append(method)
            self.requests.append((method, params))
            self._changed.notify_all()
        if method == "getMe":
            return BOT
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            # Hold the long poll briefly (not the full timeout) to keep tests fast.
            deadline = time.monotonic() + min(float(params.get("timeout") or 0), 0.5)
            with self._changed:
                while True:
                    pending = [u for u in self._updates if u["update_id"] >= offset]
                    left = deadline - time.monotonic()
                    if pending or left <= 0:
                        return pending
                    self._changed.wait(left)
        if method == "deleteMessage":
            with self._changed:
                self.deleted.append((int(params["chat_id"]), int(params["message_id"])))
                self._changed.notify_all()
            return True
        if method == "sendMessage":
            message = {
                "chat_id": int(params["chat_id"]),
                "text": params["text"],
                "protect_content": params.get("protect_content") in (True, "true", "True"),
            }
            with self._changed:
                self.sent.append(message)
                self._changed.notify_all()
            if method in self.delays:
                time.sleep(self.delays[method])
            chat_type = "private" if message["chat_id"] > 0 else "group"
            return {
                "message_id": len(self.sent),
                "date": int(time.time()),
                "chat": {"id": message["chat_id"], "type": chat_type},
                "text": message["text"],
            }
        return True  # deleteWebhook, setWebhook, close, …

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: paths carry the token

            def do_GET(self) -> None:
                self.do_POST()

            def do_POST(self) -> None:
                prefix = f"/bot{fake.token}/"
                if not self.path.startswith(prefix):
                    self._reply(
                        401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
                    )
                    return
                method = self.path[len(prefix) :].split("?", 1)[0]
                fault = fake._fault(method)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                if self.headers.get("Content-Type", "").startswith("application/json"):
                    params = json.loads(raw or "{}")
                else:
                    params = {}
                    for key, value in parse_qsl(raw):
                        try:
                            params[key] = json.loads(value)
                        except ValueError:
                            params[key] = value
                if fault is not None:
                    with fake._changed:
                        fake.calls.append(method)
                        fake.requests.append((method, params))
                        fake._changed.notify_all()
                    self._reply(*fault)
                    return
                self._reply(200, {"ok": True, "result": fake._api(method, params)})

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up on a long poll (it is shutting down)

        return Handler
