"""
The command-line client (PRODUCT.md §2.7): ``onetime share`` encrypts a secret on this
machine and prints its link, ``onetime open`` prints a secret. Both use the version-1
envelope of core/envelope.py, as the browser does, so a secret made by either opens in the
other; the key travels only in the link's fragment, which this client never sends.

Only the standard library and core/envelope.py: no Django, no settings. Installed with the
package as the ``onetime`` console script (pyproject.toml).
"""

import argparse
import getpass
import http.client
import io
import json
import os
import re
import sys
import textwrap
import tomllib
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from onetime.core import envelope as zk

# Exit codes (listed in --help and the README).
OK = 0
ERROR = 1  # anything else (Python's own code for an uncaught error)
USAGE = 2  # argparse's own code for a bad command line
NOT_FOUND = 3
GONE = 4
REFUSED = 5
RATE_LIMITED = 6
UNAVAILABLE = 7
BAD_KEY = 8
CANCELLED = 130  # as a shell reports Ctrl-C

EXIT_CODES = f"""\
exit codes:
  {OK:>3}  done
  {ERROR:>3}  any other error, such as stdout closed before the secret was written
  {USAGE:>3}  usage: a bad option, link, input or setting, a prompt needed with no terminal,
       or a request the server refused as invalid (400, 413)
  {NOT_FOUND:>3}  no such secret (404)
  {GONE:>3}  the secret is gone: already opened, burned, destroyed, or expired (410)
  {REFUSED:>3}  wrong passphrase or Telegram code (403), or the last attempt used up
  {RATE_LIMITED:>3}  too many requests (429): the message says how long to wait
  {UNAVAILABLE:>3}  network or server error: no connection, TLS, a timeout, a redirect, a 5xx
       answer, or an answer that does not fit the link (a link with a key opens only a
       secret encrypted by its sender's client: a server that says otherwise is refused)
  {BAD_KEY:>3}  the link's key (after #) is missing, cut off or wrong
  {CANCELLED:>3}  cancelled (Ctrl-C)
"""

ENVIRONMENT = """\
environment:
  ONETIME_URL         the server for `share` when --server is not given
  ONETIME_PASSPHRASE  the passphrase, for scripts (else it is asked for with no echo)
  XDG_CONFIG_HOME     where config.toml is looked for ($XDG_CONFIG_HOME/onetime/config.toml,
                      else ~/.config/onetime/config.toml): server = "https://onetime.example.com"
"""

# The most any server takes (the upper bound of ONETIME_MAX_SECRET_BYTES): reading stops there.
MAX_SECRET_BYTES = 10 * 1024 * 1024
MAX_LINK_BYTES = 8192
TIMEOUT = 30
PASSPHRASE_ENV = "ONETIME_PASSPHRASE"  # noqa: S105 - the variable's name
TTL = re.compile(r"(\d+)([smhdw]?)")
TTL_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
LINK_PATH = re.compile(r"(?P<prefix>.*)/s/(?P<id>[0-9a-fA-F-]{36})/?")


class Failure(Exception):
    """What to tell the user (one line, never a secret, key or passphrase) and the exit code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


# --- Talking to the server ----------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect would turn a POST into a GET (urllib's rule): say where it points instead.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    retry_after: str | None = None
    location: str | None = None

    @property
    def code(self) -> str:
        return str(self.body.get("status", ""))


@dataclass(frozen=True)
class Server:
    """A OneTime server: its base URL (scheme, host, port and path prefix, no trailing /)."""

    base: str

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Answer:
        """Send one API request; return the answer, or raise Failure when there is none."""
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked: http(s) only
            self.base + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={
                "Accept": "application/json",
                "Accept-Language": "en",
                "Content-Type": "application/json",
                "User-Agent": "onetime-cli",
            },
        )
        try:
            try:
                response = _OPENER.open(request, timeout=TIMEOUT)
            except urllib.error.HTTPError as error:
                response = error
            with response:
                status, raw, headers = response.status, response.read(), response.headers
        except urllib.error.URLError as error:
            raise Failure(UNAVAILABLE, self._unreachable(error.reason)) from None
        except (OSError, http.client.HTTPException) as error:
            raise Failure(UNAVAILABLE, self._unreachable(error)) from None
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        return Answer(
            status=status,
            body=parsed if isinstance(parsed, dict) else {},
            retry_after=headers.get("Retry-After"),
            location=headers.get("Location"),
        )

    def _unreachable(self, reason: object) -> str:
        text = str(reason) or type(reason).__name__
        return (
            f"Cannot reach {self.base}: {text}. Check the address and your connection, "
            "or try again later."
        )


def fail(answer: Answer) -> NoReturn:
    """Raise the Failure that an answer other than the expected one means."""
    detail = str(answer.body.get("detail") or "").strip().rstrip(".")
    status = answer.status
    if status == 404:
        raise Failure(
            NOT_FOUND,
            "There is no such secret: check that the link was copied in full, or ask the "
            "sender for a new one.",
        )
    if status == 410:
        if answer.code == "expired":
            raise Failure(GONE, "The secret has expired: ask the sender for a new one.")
        raise Failure(
            GONE,
            "The secret is gone: it was already opened, burned, or destroyed by wrong "
            "guesses. Ask the sender for a new one.",
        )
    if status == 429:
        wait = answer.retry_after or answer.body.get("retry_after")
        raise Failure(
            RATE_LIMITED,
            f"Too many requests: try again in {wait} seconds."
            if wait
            else "Too many requests: try again later.",
        )
    if status == 403:
        raise Failure(REFUSED, f"Refused: {detail or 'the server says no'}.")
    if status in (400, 413):
        raise Failure(USAGE, f"The server refused the request: {detail or status}.")
    if 300 <= status < 400:
        where = urllib.parse.urlsplit(answer.location or "")
        target = f"{where.scheme}://{where.netloc}" if where.netloc else "another address"
        raise Failure(
            UNAVAILABLE,
            f"The server redirects to {target}: use that address (--server, ONETIME_URL, "
            "or the config file).",
        )
    if status >= 500:
        what = f"{status}: {detail}" if detail else str(status)
        wait = f"in {answer.retry_after} seconds" if answer.retry_after else "later"
        raise Failure(UNAVAILABLE, f"The server failed ({what}). Try again {wait}.")
    raise Failure(UNAVAILABLE, f"Unexpected answer from the server: HTTP {status}.")


# --- Settings: the server, the TTL ---------------------------------------------------------


def server_from(value: str, source: str) -> Server:
    """Return the server at ``value`` (from ``source``, named in the error) or raise Failure."""
    parts = urllib.parse.urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise Failure(
            USAGE, f"{source} is not a server address like https://onetime.example.com: {value}"
        )
    return Server(f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}")


def config_path() -> Path:
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".config"
    return base / "onetime" / "config.toml"


def share_server(option: str | None) -> Server:
    """Return the server to share on: --server, else ONETIME_URL, else the config file."""
    if option:
        return server_from(option, "--server")
    if os.environ.get("ONETIME_URL"):
        return server_from(os.environ["ONETIME_URL"], "ONETIME_URL")
    path = config_path()
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise Failure(
            USAGE,
            "Which server? Pass --server https://…, set ONETIME_URL, or write "
            f'server = "https://…" in {path}.',
        ) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise Failure(USAGE, f"Cannot read {path}: {error}.") from None
    unknown = sorted(set(config) - {"server"})
    if unknown:
        raise Failure(USAGE, f"{path}: unknown setting {unknown[0]} (only server is read).")
    if not isinstance(config.get("server"), str):
        raise Failure(USAGE, f'{path} has no server = "https://…" line.')
    return server_from(config["server"], str(path))


def parse_ttl(text: str) -> int:
    """Return seconds for a lifetime such as 90, 30m, 1h, 7d or 2w (argparse type)."""
    match = TTL.fullmatch(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a lifetime: write seconds (3600) or 30m, 1h, 7d"
        )
    return int(match.group(1)) * TTL_UNITS[match.group(2)]


# --- Asking the person at the terminal ------------------------------------------------------


def has_terminal() -> bool:
    """Return True when this process can ask its user (a controlling terminal)."""
    if os.name != "posix":
        return sys.stdin.isatty()
    try:
        os.close(os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY))
    except OSError:
        return False
    return True


def ask(prompt: str, *, hidden: bool, needed: str) -> str:
    """
    Ask on the terminal (never on stdin, which may carry the secret, nor stdout); return a
    non-empty answer. Without a terminal, raise Failure saying what ``needed`` is.
    """
    if not has_terminal():
        raise Failure(USAGE, f"{needed}, and there is no terminal to ask on: run it in one.")
    while True:
        if hidden:
            try:
                answer = getpass.getpass(prompt)
            except UnicodeDecodeError:  # getpass decodes strictly
                raise Failure(
                    USAGE, "What was typed is not UTF-8 text: set the terminal to UTF-8."
                ) from None
        elif os.name == "posix":
            # As getpass opens it: no buffered "r+" on a device that cannot seek.
            fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
            with io.TextIOWrapper(io.FileIO(fd, "r+"), encoding="utf-8", errors="replace") as tty:
                tty.write(prompt)
                tty.flush()
                answer = tty.readline()
            if not answer:
                raise EOFError
            answer = answer.rstrip("\r\n")
        else:
            sys.stderr.write(prompt)
            sys.stderr.flush()
            answer = sys.stdin.readline().rstrip("\r\n")
        if answer:
            return answer


def env_passphrase() -> str | None:
    passphrase = os.environ.get(PASSPHRASE_ENV) or None
    try:
        (passphrase or "").encode("utf-8")
    except UnicodeEncodeError:  # bytes that are not UTF-8, surrogate-escaped by Python
        raise Failure(
            USAGE, f"{PASSPHRASE_ENV} is not UTF-8 text: set it in a UTF-8 encoding."
        ) from None
    return passphrase


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- onetime share --------------------------------------------------------------------------


def read_secret() -> bytes:
    """Return the secret: stdin byte for byte when it is not a terminal, else a hidden prompt."""
    if sys.stdin.isatty():
        typed = ask(
            "Secret (hidden, one line; pipe it in for more): ",
            hidden=True,
            needed="A secret is needed",
        )
        data = typed.encode("utf-8", "surrogateescape")
    else:
        data = sys.stdin.buffer.read(MAX_SECRET_BYTES + 1)
    if not data:
        raise Failure(USAGE, "Nothing to share: the input is empty.")
    if len(data) > MAX_SECRET_BYTES:
        raise Failure(USAGE, "The input is over 10 MiB, more than any OneTime server takes.")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise Failure(
            USAGE, "The input is not UTF-8 text: a secret is text, so that every client shows it."
        ) from None
    if b"\0" in data:
        raise Failure(USAGE, "The input holds a NUL byte: a secret is text, without NUL.")
    return data


def new_passphrase() -> str:
    """Return the passphrase from ONETIME_PASSPHRASE, else asked twice with no echo."""
    passphrase = env_passphrase()
    if passphrase:
        return passphrase
    needed = f"--passphrase needs a passphrase (or {PASSPHRASE_ENV})"
    passphrase = ask("Passphrase: ", hidden=True, needed=needed)
    if ask("Passphrase again: ", hidden=True, needed=needed) != passphrase:
        raise Failure(USAGE, "The two passphrases differ: nothing was shared. Try again.")
    return passphrase


def share(args: argparse.Namespace) -> int:
    server = share_server(args.server)
    plaintext = read_secret()
    passphrase = new_passphrase() if args.passphrase else None
    key = zk.new_key()
    envelope, proof = zk.seal(plaintext, key=key, passphrase=passphrase)
    body: dict[str, Any] = {"ciphertext": zk.b64encode(envelope)}
    if proof is not None:
        body["passphrase_proof"] = zk.b64encode(proof)
    if args.ttl is not None:
        body["ttl"] = args.ttl
    if args.recipient:
        body["telegram_recipient"] = args.recipient
    answer = server.call("POST", "/api/v1/secrets", body)
    if answer.status in (404, 405):
        raise Failure(
            USAGE, f"{server.base} has no OneTime API (HTTP {answer.status}): check the address."
        )
    if answer.status != 201:
        fail(answer)
    sid = str(zk.parse(envelope).secret_id)
    link = str(answer.body.get("url", ""))
    if answer.body.get("id") != sid or not link.endswith(f"/s/{sid}"):
        raise Failure(UNAVAILABLE, "The server's answer does not match the secret sent.")
    if origin(link) != origin(server.base):
        # The key goes only where the user chose to send the secret, never to an address
        # the server names: a server behind another public name is told how to be used.
        named = "{}://{}".format(*origin(link))
        named = named if named.isprintable() else "another address"
        link = f"{server.base}/s/{sid}"
        say(
            f"Note: the server names its links {named}/…, not {server.base}: the link is "
            f"given at the address used. If {named} is its public address, share with "
            "--server set to it."
        )
    print(f"{link}#{zk.b64encode(key)}", flush=True)
    expires = datetime.fromisoformat(str(answer.body["expires_at"])).astimezone()
    say(f"Expires {expires:%Y-%m-%d %H:%M %Z}. Receipt: {answer.body['receipt_url']}")
    return OK


def origin(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


# --- onetime open ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    server: Server
    id: uuid.UUID
    key: str | None  # the fragment, as written


def parse_link(text: str) -> Link:
    parts = urllib.parse.urlsplit(text.strip())
    match = LINK_PATH.fullmatch(parts.path)
    if parts.scheme not in ("http", "https") or not parts.hostname or not match:
        raise Failure(USAGE, "That is not a secret's link (https://…/s/<id>#<key>).")
    try:
        sid = uuid.UUID(match.group("id"))
    except ValueError:
        raise Failure(USAGE, "The link's id is damaged: copy the whole link.") from None
    base = Server(f"{parts.scheme}://{parts.netloc}{match.group('prefix')}")
    return Link(server=base, id=sid, key=parts.fragment or None)


def read_link(argument: str | None) -> str:
    """
    Return the link: the argument, else stdin when it is not a terminal, else asked for
    with no echo. Out of argv, the key stays out of the process list and the shell's history.
    """
    if argument not in (None, "-"):
        return argument
    if sys.stdin.isatty():
        return ask("Link (hidden): ", hidden=True, needed="The secret's link is needed")
    data = sys.stdin.buffer.read(MAX_LINK_BYTES + 1)
    if not data.strip() or len(data) > MAX_LINK_BYTES:
        raise Failure(
            USAGE, "No link on stdin: give only the secret's link (… | onetime open), or type it."
        )
    return data.decode("utf-8", "replace")


def misfit(server: Server, what: str) -> Failure:
    """The failure for a server that would have a link with a key opened without it."""
    return Failure(
        UNAVAILABLE,
        f"The answer of {server.base} does not fit the link: {what}, but a link with a key "
        "(after #) opens only a secret encrypted by its sender's client. Nothing of the "
        "secret was shown; check the server's address.",
    )


def link_key(link: Link, server: Server, meta: dict[str, Any]) -> bytes:
    """
    Return the link's key once it matches the secret's key check; raise Failure if not, or
    if the server does not say that the secret is encrypted by its client, with a key check.
    """
    if not link.key:
        raise Failure(
            BAD_KEY,
            "The link has no key (the part after #): ask the sender for the whole link. "
            "Nothing was consumed.",
        )
    key_check = meta.get("key_check")
    if meta.get("encryption") != "client" or not isinstance(key_check, str) or not key_check:
        raise misfit(server, "it does not say the secret is encrypted by its client")
    try:
        key = zk.b64decode(link.key)
        matches = len(key) == zk.KEY_BYTES and zk.b64encode(zk.key_check(key, link.id)) == key_check
    except zk.EnvelopeError:
        matches = False
    if not matches:
        raise Failure(
            BAD_KEY,
            "The link's key (after #) is cut off or wrong: copy the whole link, or ask the "
            "sender for it again. Nothing was consumed.",
        )
    return key


@dataclass
class Attempt:
    """What the reveal sends, kept across retries: a right code survives a wrong passphrase."""

    passphrase: str | None = None
    stretched: bytes | None = None
    code: str | None = None


def open_secret(args: argparse.Namespace) -> int:
    link = parse_link(read_link(args.url))
    server = server_from(args.server, "--server") if args.server else link.server
    meta = server.call("GET", f"/api/v1/secrets/{link.id}")
    if meta.status != 200:
        fail(meta)
    # A key in the link decides, not the server: its passphrase is then never sent.
    client = bool(link.key) or meta.body.get("encryption") == "client"
    key = link_key(link, server, meta.body) if client else None
    attempt = Attempt()
    need_passphrase = bool(meta.body.get("passphrase_required"))
    recipient = meta.body.get("telegram_recipient")
    while True:
        if recipient and attempt.code is None:
            attempt.code = ask(
                f"Telegram code for {recipient} (send /code to "
                f"{meta.body.get('telegram_bot') or 'the bot'}): ",
                hidden=False,
                needed=f"Only {recipient} can open this secret, with a code from the bot",
            )
        if need_passphrase and attempt.passphrase is None:
            where = "stays on this machine" if client else "goes to the server, which encrypted it"
            attempt.passphrase = env_passphrase() or ask(
                f"Passphrase (it {where}): ",
                hidden=True,
                needed=f"The secret has a passphrase (set {PASSPHRASE_ENV} for scripts)",
            )
            if client:
                assert key is not None
                attempt.stretched = zk.stretch(attempt.passphrase, link.id)
        body: dict[str, Any] = {}
        if attempt.code:
            body["telegram_code"] = attempt.code
        if attempt.passphrase and client:
            assert key is not None
            proof = zk.derive(key, link.id, attempt.stretched).proof
            body["passphrase_proof"] = zk.b64encode(proof or b"")
        elif attempt.passphrase:
            body["passphrase"] = attempt.passphrase
        answer = server.call("POST", f"/api/v1/secrets/{link.id}/reveal", body)
        if answer.status == 200:
            break
        if answer.status == 403 and answer.code == "passphrase_required" and not need_passphrase:
            need_passphrase = True  # the metadata was read before a change of the server's
            continue
        if answer.status == 403 and answer.code in ("wrong_passphrase", "wrong_telegram_code"):
            what = "passphrase" if answer.code == "wrong_passphrase" else "Telegram code"
            left = answer.body.get("attempts_left")
            message = f"Wrong {what}: {left} attempts left before the secret is destroyed."
            if what == "passphrase" and env_passphrase():
                raise Failure(REFUSED, f"{message} (It came from {PASSPHRASE_ENV}.)")
            say(message)
            if what == "passphrase":
                attempt.passphrase = attempt.stretched = None
            else:
                attempt.code = None
            continue
        if answer.status == 410 and answer.code == "destroyed" and body:
            raise Failure(
                REFUSED,
                "The secret is destroyed: that passphrase or code was wrong, and no attempts "
                "were left. Ask the sender for a new one.",
            )
        fail(answer)
    if client:
        assert key is not None
        ciphertext = answer.body.get("ciphertext")
        if not isinstance(ciphertext, str) or not ciphertext:
            raise misfit(server, "it revealed no ciphertext")
        try:
            plaintext = zk.open_envelope(
                zk.b64decode(ciphertext),
                key=key,
                sid=link.id,
                stretched=attempt.stretched,
            )
        except zk.EnvelopeError:
            raise Failure(
                BAD_KEY,
                "The secret was consumed, but its link's key does not decrypt it: ask the "
                "sender for a new one.",
            ) from None
    else:
        plaintext = str(answer.body.get("secret", "")).encode("utf-8", "surrogateescape")
    try:
        sys.stdout.buffer.write(plaintext)
        sys.stdout.buffer.flush()
    except OSError as error:
        raise Failure(
            ERROR,
            f"Cannot write the secret to stdout ({error.strerror}). It was consumed: ask the "
            "sender for a new one.",
        ) from None
    if sys.stdout.isatty() and not plaintext.endswith(b"\n"):
        sys.stderr.write("\n")  # the shell's prompt on a line of its own; stdout stays exact
    return OK


# --- The command line -----------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="onetime",
        description=textwrap.fill(
            "Share a one-time secret from a terminal, encrypted on this machine (the server "
            "never sees it, nor the key in the link), or open one."
        ),
        epilog=EXIT_CODES + "\n" + ENVIRONMENT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="{share,open}")
    share_help = "encrypt a secret here and print its link"
    sharing = commands.add_parser(
        "share",
        help=share_help,
        description=textwrap.fill(
            f"{share_help.capitalize()}. The secret is read from stdin exactly as it comes, "
            "trailing newline included (`echo pw |` sends pw and a newline; use printf "
            "'%s' or echo -n to leave it out), or, when stdin is a terminal, typed at a "
            "hidden prompt. Only the link goes to stdout (the key is in its #fragment); "
            "the expiry and the receipt link, to check or burn the secret, go to stderr."
        ),
        epilog=EXIT_CODES + "\n" + ENVIRONMENT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sharing.add_argument(
        "--ttl",
        type=parse_ttl,
        metavar="TIME",
        help=(
            "lifetime: seconds, or 30m, 1h, 7d, up to the server's ONETIME_MAX_TTL "
            "(7 days unless changed; default: the server's, usually 1 day)"
        ),
    )
    sharing.add_argument(
        "--passphrase",
        action="store_true",
        help=(
            f"ask for a passphrase (twice, no echo; or {PASSPHRASE_ENV}) that the recipient "
            "needs too; it never leaves this machine"
        ),
    )
    sharing.add_argument(
        "--for",
        dest="recipient",
        metavar="@USER",
        help="only this Telegram account (@username or numeric id) can open it, with a code "
        "from the server's bot",
    )
    sharing.add_argument(
        "--server",
        metavar="URL",
        help="the OneTime server (else ONETIME_URL, else server in the config file)",
    )
    sharing.set_defaults(run=share)
    open_help = "print a secret to stdout, and nothing else"
    opening = commands.add_parser(
        "open",
        help=open_help,
        description=textwrap.fill(
            f"{open_help.capitalize()}: exactly its bytes, with no newline added (pipe them "
            "to a file or the clipboard when the sender is not trusted: a secret may hold "
            "terminal escapes). Give the link on stdin (`pbpaste | onetime open`, `onetime "
            "open < link.txt`) or at the prompt that `onetime open` shows on a terminal, "
            "hidden: as an argument its key is visible to other users in the process list "
            "and stays in the shell's history. The link's key is checked before anything is "
            "consumed. A passphrase or a Telegram code is asked for on the terminal when the "
            "secret needs one; a wrong one is asked again while attempts remain. A secret "
            "encrypted on the server (a link without #key) opens too, but then its passphrase "
            "is sent to the server; a link with a key never opens that way."
        ),
        epilog=EXIT_CODES + "\n" + ENVIRONMENT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    opening.add_argument(
        "url",
        metavar="URL",
        nargs="?",
        help="the secret's link, https://…/s/<id>#<key>; without it (or -), read from stdin, "
        "else asked for with no echo: safer",
    )
    opening.add_argument(
        "--server",
        metavar="URL",
        help="ask this server instead of the one the link names",
    )
    opening.set_defaults(run=open_secret)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except Failure as failure:
        say(f"onetime: {failure}")
        return failure.code
    except (KeyboardInterrupt, EOFError):
        say("onetime: cancelled.")
        return CANCELLED
    return code


if __name__ == "__main__":
    sys.exit(main())
