"""
Imports point down (STYLE.md, "Layering without ceremony"). Core is the floor, codes and the
notifications outbox stand on it, the vault on them (a Telegram-bound secret
is opened with a code; its state changes queue notifications), the bot and the compatibility
APIs (Password Pusher's, OneTimeSecret's) on the vault, and
cleanup, whose scheduler also delivers notifications through the bot's client, on top: an
app never imports from a higher one.
Within an app, presentation (views, API, forms, urls, bot handlers and sender, commands) imports
services, services import the domain, and the domain (models and pure modules) imports
neither. Nothing but a urls module imports a view.

Read from the source with ast, so a violation fails here, not in review.
"""

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.processes import ROOT

PACKAGE = ROOT / "onetime"

# How high each app stands: an app never imports from an app that stands higher.
APP_LEVELS = {
    "core": 0,
    "codes": 1,
    "notices": 1,
    "vault": 2,
    "bot": 3,
    # The compatibility APIs: other front ends of the vault's services.
    "pwpush": 3,
    "ots": 3,
    "cleanup": 4,
}

# Presentation modules, by the last part of their name (and everything under management/).
# The bot's outbox sender drives services from outside, as a command or a handler does.
PRESENTATION = {"views", "api", "forms", "urls", "handlers", "client", "outbox"}
SERVICES = "services"


def _kind(module: str) -> str:
    parts = module.split(".")
    if "management" in parts or parts[-1] in PRESENTATION:
        return "presentation"
    if parts[-1] == SERVICES:
        return "services"
    return "domain"


def _module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def _imports(module: str, source: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """Yield (line, module) for every module that ``source`` imports, submodules included."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            yield node.lineno, base
            # `from onetime.vault import services` imports the module onetime.vault.services.
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def _app(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "onetime" and parts[1] in APP_LEVELS:
        return parts[1]
    return None


def violations(sources: Mapping[str, str]) -> list[str]:
    """Return one line for every import in ``sources`` (path → text) that points up."""
    found = []
    for path, source in sources.items():
        module = _module_name(ROOT / path)
        app = _app(module)
        if app is None:
            continue  # settings.py, urls.py, wsgi.py: the project's wiring
        kind = _kind(module)
        for line, imported in _imports(module, source, path.endswith("__init__.py")):
            target_app = _app(imported)
            if target_app is None:
                continue
            where = f"{path}:{line} imports {imported}"
            target_kind = _kind(imported)
            if APP_LEVELS[target_app] > APP_LEVELS[app]:
                found.append(f"{where}: {app} stands below {target_app}")
            elif kind == "domain" and target_kind != "domain":
                found.append(f"{where}: the domain imports {target_kind}")
            elif kind == "services" and target_kind == "presentation":
                found.append(f"{where}: a service imports presentation")
            elif imported.split(".")[-1] in {"views", "api"} and module.split(".")[-1] != "urls":
                found.append(f"{where}: only urls modules import views")
    return found


def _tree() -> dict[str, str]:
    return {
        str(path.relative_to(ROOT)): path.read_text()
        for path in sorted(PACKAGE.rglob("*.py"))
        if "migrations" not in path.parts
    }


def test_imports_point_down():
    assert violations(_tree()) == []


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("onetime/core/views.py", "from onetime.vault.services import secret_create"),
        ("onetime/core/cleanup.py", "from onetime.codes import services"),
        ("onetime/core/anything.py", "import onetime.bot.handlers"),
        ("onetime/core/anything.py", "from onetime.cleanup.services import cleanup_run"),
        ("onetime/vault/services.py", "from onetime.cleanup import services"),
        ("onetime/codes/services.py", "from onetime.vault import services"),
        ("onetime/notices/services.py", "from onetime.vault.models import Secret"),
        ("onetime/vault/services.py", "from onetime.bot import client"),
        ("onetime/codes/models.py", "from onetime.bot.updates import Message"),
        ("onetime/vault/models.py", "from onetime.vault import services"),
        ("onetime/vault/models.py", "from .services import secret_create"),
        ("onetime/vault/crypto.py", "from onetime.vault.views import secret"),
        ("onetime/codes/models.py", "from onetime.codes.api import CodeVerifyApi"),
        ("onetime/vault/services.py", "from onetime.vault.forms import SecretForm"),
        ("onetime/codes/services.py", "from onetime.codes.management.commands import x"),
        ("onetime/bot/handlers.py", "from onetime.bot.views import webhook"),
        ("onetime/vault/views.py", "from onetime.vault import api"),
    ],
)
def test_an_import_that_points_up_is_found(path, source):
    assert violations({path: source}) != []


@pytest.mark.parametrize(
    ("path", "source"),
    [
        ("onetime/cleanup/services.py", "from onetime.codes.services import codes_delete_expired"),
        ("onetime/bot/handlers.py", "from onetime.codes import services as codes"),
        ("onetime/vault/services.py", "from onetime.core import metrics, ratelimit"),
        ("onetime/vault/services.py", "from onetime.codes import services as codes"),
        ("onetime/vault/services.py", "from onetime.notices.services import notification_enqueue"),
        ("onetime/vault/services.py", "from onetime.vault.models import Secret"),
        ("onetime/vault/urls.py", "from onetime.vault import api, views"),
        ("onetime/codes/api.py", "from onetime.codes import services"),
        ("onetime/core/urls.py", "from . import views"),
    ],
)
def test_an_import_that_points_down_passes(path, source):
    assert violations({path: source}) == []
