"""Web pages for secrets: create, reveal (a GET that offers, a POST that consumes), receipt."""

import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from onetime.core import envelope as zk
from onetime.core.errors import RateLimited, ServiceError, error_page, wait_text
from onetime.core.qr import qr_svg
from onetime.core.ratelimit import client_ip
from onetime.vault import services
from onetime.vault.forms import GeneratorForm, RevealForm, SecretForm
from onetime.vault.links import receipt_url, secret_url
from onetime.vault.models import Secret


def _bot(bot: str | None) -> dict[str, str | None]:
    """Return the bot's "@name" and the link that opens it asking for a code, for a page."""
    return {
        "telegram_bot": bot,
        # The bot answers "/start code" as it answers /code.
        "telegram_link": f"https://t.me/{bot.removeprefix('@')}?start=code" if bot else None,
    }


def _create_page(
    request: HttpRequest, form: SecretForm, status: int, generator: GeneratorForm | None = None
) -> HttpResponse:
    if form.is_bound and form.data.get("ciphertext") and not form.has_error("secret"):
        # Sent back with an error (a wrong code, a limit): the secret itself never came here.
        form.add_error(
            "secret",
            _(
                "The secret was encrypted in your browser and never sent, so it cannot be "
                "filled in again: enter it once more."
            ),
        )
    context = {
        "form": form,
        "generator": generator or GeneratorForm(prefix="generator"),
        # For the script, which encrypts: a secret over it is refused before it is sent.
        "max_secret_bytes": settings.ONETIME_MAX_SECRET_BYTES,
        **_bot(services.telegram_bot() if form.telegram else None),
    }
    return render(request, "vault/create.html", context, status=status)


def _generate(request: HttpRequest) -> HttpResponse:
    """
    The generator without JavaScript: the form comes back as it was sent, its secret field
    holding a new password. Nothing is stored.
    """
    generator = GeneratorForm(request.POST, prefix="generator")
    if not generator.is_valid():
        return _create_page(request, SecretForm(initial=request.POST.dict()), 400, generator)
    form = SecretForm(initial={**request.POST.dict(), "secret": generator.password()})
    return _create_page(request, form, 200, generator)


def _service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    if isinstance(exc, services.SecretGone):
        return render(
            request,
            "vault/gone.html",
            {"title": exc.detail, "state": exc.code, "by": exc.by, "client": exc.client},
            status=410,
        )
    return error_page(request, exc)


# The create form's field that a service error is about (None: the form as a whole; any
# other 400 or 413: the secret). The form checks the accounts' format itself.
_CREATE_ERROR_FIELD: dict[type[ServiceError], str | None] = {
    services.InvalidPassphrase: "passphrase",
    services.WrongNotifyCode: "notify_code",
    services.InvalidTelegramAccount: None,
    services.TelegramNotConfigured: None,
}


@require_http_methods(["GET", "HEAD", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and "generate" in request.POST:
        return _generate(request)
    form = SecretForm(request.POST if request.method == "POST" else None)
    if request.method != "POST" or not form.is_valid():
        return _create_page(request, form, status=400 if form.is_bound else 200)
    try:
        envelope = form.cleaned_data["ciphertext"]
        created = services.secret_create(
            # Encrypted in the browser: the envelope in place of the secret (PRODUCT.md §2.7).
            plaintext=None if envelope else form.cleaned_data["secret"],
            envelope=envelope,
            passphrase_proof=form.cleaned_data["passphrase_proof"],
            ttl=form.cleaned_data["ttl"],
            passphrase=form.cleaned_data["passphrase"] or None,
            client_ip=client_ip(request),
            telegram_recipient=form.cleaned_data.get("telegram_recipient"),
            notify_telegram=form.cleaned_data.get("notify_telegram"),
            notify_code=form.cleaned_data.get("notify_code"),
        )
    except ServiceError as exc:
        if exc.status_code in {400, 413}:
            form.add_error(_CREATE_ERROR_FIELD.get(type(exc), "secret"), str(exc.detail))
            return _create_page(request, form, status=exc.status_code)
        if isinstance(exc, RateLimited):
            # The form again, with what the person typed (not the passphrase, which a
            # password field never shows back), and how long to wait.
            wait = wait_text(exc.retry_after)
            form.add_error(
                None, _("Too many requests from your address. %(wait)s") % {"wait": wait}
            )
            page = _create_page(request, form, status=exc.status_code)
            for name, value in exc.headers().items():
                page[name] = value
            return page
        return _service_error(request, exc)
    # Rendered in answer to the POST, never redirected to: a redirect would put the
    # receipt token into a URL that browsers and proxies record. A client-encrypted secret's
    # key is in the page's own address (the form's action, "/#key"), for its script.
    url = secret_url(request, created.secret.id)
    return render(
        request,
        "vault/created.html",
        {
            "secret": created.secret,
            "url": url,
            # Inline in this never-cached page: no request of its own carries the link. The
            # link with its key exists only in the browser, which draws that one.
            "qr": None if created.secret.client_encrypted else qr_svg(url),
            "receipt_url": receipt_url(request, created.receipt_token),
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
def secret(request: HttpRequest, secret_id: uuid.UUID) -> HttpResponse:
    """
    GET offers to reveal and changes nothing, so link-preview robots cannot burn a secret;
    the page's button POSTs back here to reveal it.
    """
    form = RevealForm(request.POST if request.method == "POST" else None)
    status = 400 if form.is_bound and not form.is_valid() else 200
    if request.method == "POST" and form.is_valid():
        try:
            revealed = services.secret_reveal(
                secret_id=secret_id,
                passphrase=form.cleaned_data["passphrase"] or None,
                client_ip=client_ip(request),
                telegram_code=form.cleaned_data["telegram_code"] or None,
                passphrase_proof=form.cleaned_data["passphrase_proof"],
                # Set by the page's script only: without it, nothing can decrypt an envelope.
                envelope_ok=form.cleaned_data["decrypt"] == "browser",
            )
        except (
            services.WrongPassphrase,
            services.PassphraseRequired,
            services.InvalidPassphrase,
        ) as exc:
            form.add_error("passphrase", str(exc.detail))
            status = exc.status_code
        except services.TelegramCodeRequired as exc:
            # The page already says whose code it takes and where to get it.
            form.add_error("telegram_code", _("Enter the code from the bot."))
            status = exc.status_code
        except services.WrongTelegramCode as exc:
            form.add_error("telegram_code", str(exc.detail))
            status = exc.status_code
        except ServiceError as exc:
            return _service_error(request, exc)
        else:
            return _revealed_page(request, secret_id, revealed)
    try:
        meta = services.secret_get(secret_id=secret_id, client_ip=client_ip(request))
    except ServiceError as exc:
        return _service_error(request, exc)
    if meta.client_encrypted:
        form.keep_passphrase_in_the_page()
    # The first field to fill has the focus: the code, else the passphrase.
    first = "telegram_code" if meta.telegram_recipient else "passphrase"
    if meta.telegram_recipient or meta.passphrase_required:
        form.fields[first].widget.attrs["autofocus"] = True
    if meta.passphrase_required and "passphrase" not in form.errors:
        # The attempts left, said under the field (reveal.html) and read with it.
        form.fields["passphrase"].widget.attrs["aria-describedby"] = "id_passphrase_attempts"
    context = {
        "secret": meta,
        "form": form,
        # Told before the first try, not only after a wrong one.
        "attempts_left": (
            services.passphrase_attempts_left(meta) if meta.passphrase_required else None
        ),
        **_bot(services.recipient_bot(meta)),
    }
    return render(request, "vault/reveal.html", context, status=status)


def _revealed_page(
    request: HttpRequest, secret_id: uuid.UUID, revealed: services.Revealed
) -> HttpResponse:
    if revealed.envelope is not None:
        # The page's script decrypts it with the key in its address (PRODUCT.md §2.7).
        context = {"envelope": zk.b64encode(revealed.envelope), "secret_id": secret_id}
        return render(request, "vault/revealed.html", context)
    plaintext = revealed.plaintext or ""
    # As many rows as lines (long lines scroll sideways), within a screenful.
    rows = min(max(plaintext.count("\n") + 1, 2), 30)
    return render(request, "vault/revealed.html", {"plaintext": plaintext, "rows": rows})


@require_http_methods(["GET", "HEAD"])
def receipt(request: HttpRequest, token: str) -> HttpResponse:
    try:
        found = services.receipt_get(token=token, client_ip=client_ip(request))
    except ServiceError as exc:
        return error_page(request, exc)
    return _receipt_page(request, found, token, posted=False)


@require_POST
def receipt_burn(request: HttpRequest, token: str) -> HttpResponse:
    """
    Ask before burning: the receipt's button POSTs here and gets the question, whose form
    POSTs again with confirm=yes, and only that burns. No JavaScript involved.
    """
    confirmed = request.POST.get("confirm") == "yes"
    try:
        if confirmed:
            found = services.receipt_burn(token=token, client_ip=client_ip(request))
        else:
            found = services.receipt_get(token=token, client_ip=client_ip(request))
    except ServiceError as exc:
        return error_page(request, exc)
    return _receipt_page(request, found, token, posted=True, confirm_burn=not confirmed)


def _receipt_page(
    request: HttpRequest,
    found: Secret,
    token: str,
    *,
    posted: bool,
    confirm_burn: bool = False,
) -> HttpResponse:
    context = {
        "secret": found,
        "token": token,
        # Rendered for a POST: a ?lang= link would GET the burn URL (405).
        "posted": posted,
        "confirm_burn": confirm_burn,
        "locked_by_codes": services.locked_by_codes(found),
        # Whether notifications are on is worth a line only where they exist.
        "telegram": bool(settings.TELEGRAM_BOT_TOKEN) or found.notify_chat_id is not None,
    }
    return render(request, "vault/receipt.html", context)
