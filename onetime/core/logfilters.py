"""A log filter that cuts capability ids (secret ids, receipt tokens) to a short prefix."""

import json
import logging
import re
import traceback
from typing import Any

from django.http import HttpRequest
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

# /s/<uuid>, /api/v1/secrets/<uuid>, and bare UUIDs anywhere.
_UUID = re.compile(
    r"\b([0-9a-fA-F]{8})-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)
# /r/<token>, /api/v1/receipts/<token>, and OneTimeSecret's receipt paths (the same token).
_RECEIPT = re.compile(
    r"(/r/|/receipts/|/private/|/receipt/|/metadata/)([A-Za-z0-9_-]{4})[A-Za-z0-9_-]+"
)


# Bot API URLs: /bot<id>:<secret>/method.
_BOT_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")


def redact(text: str) -> str:
    """Return ``text`` with ids and tokens cut to short prefixes and bot tokens removed."""
    text = _BOT_TOKEN.sub("<bot-token>", text)
    text = _UUID.sub(r"\1…", text)
    return _RECEIPT.sub(r"\1\2…", text)


def traceback_without_messages(exc: BaseException) -> str:
    """
    Return the traceback of ``exc`` and of the exceptions it was raised from or while
    handling, each exception by its type only: a message may carry data (a value that a
    statement or a parser choked on), the frames and their source lines do not.
    """
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    parts = []
    for link in reversed(chain):
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(link.__traceback__))
        name = type(link).__qualname__
        module = type(link).__module__
        parts.append(f"{name if module == 'builtins' else f'{module}.{name}'} (message withheld)\n")
    return "".join(parts).rstrip("\n")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the exception, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


# The access logs write the request's path percent-decoded: a %0a in it would start a forged
# line. Their control characters are written as escapes.
ACCESS_LOGS = frozenset({"granian.access", "django.server"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class RedactCapabilitiesFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if record.name in ACCESS_LOGS:
            redacted = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", redacted)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # Formatters print exc_text when it is set: the redacted traceback.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


class ClientErrorFilter(logging.Filter):
    """
    Turn a record about a malformed request (Django logs each SuspiciousOperation, such as
    a Host outside ALLOWED_HOSTS, as an ERROR with its traceback) into one WARNING line:
    the client is at fault, not the service, and scanners send such requests all day.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
        record.exc_info = record.exc_text = None
        return True


class NoSecretsExceptionReporterFilter(SafeExceptionReporterFilter):
    """
    Hide every frame variable and every POST parameter from error reports (the DEBUG
    page, mail to admins): any of them may hold a secret or a passphrase.
    """

    hidden_settings = re.compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|DATABASE_URL", flags=re.I
    )

    def get_post_parameters(self, request: HttpRequest | None) -> dict[str, Any]:
        if request is None:
            return {}
        return dict.fromkeys(request.POST, self.cleansed_substitute)

    def get_traceback_frame_variables(self, request: HttpRequest | None, tb_frame: Any) -> Any:
        return [(name, self.cleansed_substitute) for name in tb_frame.f_locals]

    def get_safe_request_meta(self, request: HttpRequest) -> dict[str, Any]:
        return {
            name: redact(value) if isinstance(value, str) else value
            for name, value in super().get_safe_request_meta(request).items()
        }


class _RedactedPathRequest:
    """The request as report templates see it: ``path_info`` cut short, the rest as is."""

    def __init__(self, request: HttpRequest) -> None:
        self._request = request

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)

    @property
    def path_info(self) -> str:
        return redact(self._request.path_info)


class NoSecretsExceptionReporter(ExceptionReporter):
    """Error reports with capability ids and tokens in the URL and message cut short."""

    def get_traceback_data(self) -> dict[str, Any]:
        data: dict[str, Any] = super().get_traceback_data()
        for key in ("request_insecure_uri", "exception_value"):
            if isinstance(data.get(key), str):
                data[key] = redact(data[key])
        if data.get("request") is not None:
            data["request"] = _RedactedPathRequest(data["request"])
        return data
