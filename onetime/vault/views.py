"""Web pages for secrets: create, reveal (a GET that offers, a POST that consumes), receipt."""

import uuid

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from onetime.core.errors import ServiceError, error_page
from onetime.core.ratelimit import client_ip
from onetime.vault import services
from onetime.vault.forms import RevealForm, SecretForm
from onetime.vault.links import receipt_url, secret_url


def _service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    if isinstance(exc, services.SecretGone):
        return render(
            request, "vault/gone.html", {"title": exc.detail, "state": exc.code}, status=410
        )
    return error_page(request, exc)


@require_http_methods(["GET", "HEAD", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    form = SecretForm(request.POST if request.method == "POST" else None)
    if request.method != "POST" or not form.is_valid():
        status = 400 if form.is_bound else 200
        return render(request, "vault/create.html", {"form": form}, status=status)
    try:
        created = services.secret_create(
            plaintext=form.cleaned_data["secret"],
            ttl=form.cleaned_data["ttl"],
            passphrase=form.cleaned_data["passphrase"] or None,
            client_ip=client_ip(request),
        )
    except ServiceError as exc:
        if exc.status_code in {400, 413}:
            field = "passphrase" if isinstance(exc, services.InvalidPassphrase) else "secret"
            form.add_error(field, str(exc.detail))
            return render(request, "vault/create.html", {"form": form}, status=exc.status_code)
        return _service_error(request, exc)
    # Rendered in answer to the POST, never redirected to: a redirect would put the
    # receipt token into a URL that browsers and proxies record.
    return render(
        request,
        "vault/created.html",
        {
            "secret": created.secret,
            "url": secret_url(request, created.secret.id),
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
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            plaintext = services.secret_reveal(
                secret_id=secret_id,
                passphrase=form.cleaned_data["passphrase"] or None,
                client_ip=client_ip(request),
            )
        except (
            services.WrongPassphrase,
            services.PassphraseRequired,
            services.InvalidPassphrase,
        ) as exc:
            form.add_error("passphrase", str(exc.detail))
            status = exc.status_code
        except ServiceError as exc:
            return _service_error(request, exc)
        else:
            return render(request, "vault/revealed.html", {"plaintext": plaintext})
    try:
        meta = services.secret_get(secret_id=secret_id, client_ip=client_ip(request))
    except ServiceError as exc:
        return _service_error(request, exc)
    return render(request, "vault/reveal.html", {"secret": meta, "form": form}, status=status)


@require_http_methods(["GET", "HEAD"])
def receipt(request: HttpRequest, token: str) -> HttpResponse:
    try:
        found = services.receipt_get(token=token, client_ip=client_ip(request))
    except ServiceError as exc:
        return error_page(request, exc)
    context = {"secret": found, "token": token, "after_burn": False}
    return render(request, "vault/receipt.html", context)


@require_POST
def receipt_burn(request: HttpRequest, token: str) -> HttpResponse:
    try:
        found = services.receipt_burn(token=token, client_ip=client_ip(request))
    except ServiceError as exc:
        return error_page(request, exc)
    context = {"secret": found, "token": token, "after_burn": True}
    return render(request, "vault/receipt.html", context)
