from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from onetime.core import envelope as zk
from onetime.vault import passwords, services

TTL_PRESETS = [
    (300, _("5 minutes")),
    (3600, _("1 hour")),
    (86400, _("1 day")),
    (7 * 86400, _("7 days")),
]


def ttl_choices() -> list[tuple[int, str]]:
    """Return the presets that ONETIME_MAX_TTL allows (at least the shortest one)."""
    longest = settings.ONETIME_MAX_TTL
    allowed = [(s, str(label)) for s, label in TTL_PRESETS if s <= longest]
    if allowed:
        return allowed
    minutes = longest // 60  # ONETIME_MAX_TTL is at least 60 s
    return [(minutes * 60, ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes})]


def clean_code(value: object) -> str:
    """
    Return a code from the bot as typed, without spaces ("123 4567", as some apps show it).
    A malformed code is a typo, not a guess: it is refused here, without counting against
    the account or the secret.
    """
    code = "".join(str(value).split())
    if code and not (len(code) == 7 and code.isascii() and code.isdigit()):
        raise forms.ValidationError(_("The code has 7 digits."))
    return code


# A Telegram @username or id: typed as is, never corrected or capitalised by the keyboard.
ACCOUNT_ATTRS = {"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}


def code_field() -> forms.CharField:
    """Return a field for a 7-digit code from the bot (the create and reveal forms)."""
    return forms.CharField(
        label=_("Code from the bot"),
        required=False,
        max_length=16,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "class": "code mono"}
        ),
    )


def base64_field(max_length: int | None = None) -> forms.CharField:
    """Return a field for bytes in URL-safe base64 (what the page's script adds to a form)."""
    return forms.CharField(required=False, max_length=max_length, widget=forms.HiddenInput)


def clean_base64(value: object, size: int | None = None) -> bytes | None:
    """Return the bytes of URL-safe base64 without padding (None for nothing sent)."""
    if not value:
        return None
    try:
        data = zk.b64decode(str(value))
    except zk.EnvelopeError:
        raise forms.ValidationError(_("This is not URL-safe base64 without padding.")) from None
    if size is not None and len(data) != size:
        raise forms.ValidationError(_("This is not %(n)d bytes long.") % {"n": size})
    return data


class SecretForm(forms.Form):
    # strip=False: whitespace is part of a secret. Not required when the page's script sent
    # its ciphertext instead (clean); the browser still asks for it.
    secret = forms.CharField(
        label=_("Secret"),
        strip=False,
        required=False,
        widget=forms.Textarea(
            attrs={
                "rows": 6,
                "autocomplete": "off",
                "spellcheck": "false",
                "required": True,
                # Monospace, as the revealed secret: l, I and 1 told apart.
                "class": "mono",
            }
        ),
    )
    # Encrypted in the browser (PRODUCT.md §2.7): the page's script sends the envelope (and
    # the passphrase's proof) in place of the secret and the passphrase.
    ciphertext = base64_field()
    passphrase_proof = base64_field(max_length=64)
    ttl = forms.TypedChoiceField(label=_("Lifetime"), coerce=int, choices=[])
    passphrase = forms.CharField(
        label=_("Passphrase (optional)"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("The recipient will need it too; send it by another channel."),
    )

    # Telegram (PRODUCT.md §2.6, §3.6): removed when the server has no bot.
    telegram_recipient = forms.CharField(
        label=_("Only for this Telegram user (optional)"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs=ACCOUNT_ATTRS),
        help_text=_(
            "A @username or a numeric user id. Only that account can open the link, with a "
            "code from our Telegram bot."
        ),
    )
    notify_telegram = forms.CharField(
        label=_("My Telegram account"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs=ACCOUNT_ATTRS),
        help_text=_("@username or numeric id"),
    )
    notify_code = code_field()
    TELEGRAM_FIELDS = ("telegram_recipient", "notify_telegram", "notify_code")

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.telegram = bool(settings.TELEGRAM_BOT_TOKEN)
        if not self.telegram:
            for name in self.TELEGRAM_FIELDS:
                del self.fields[name]
        choices = ttl_choices()
        field = self.fields["ttl"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = choices
        values = [seconds for seconds, _label in choices]
        # The preset nearest to ONETIME_DEFAULT_TTL.
        field.initial = min(values, key=lambda v: abs(v - settings.ONETIME_DEFAULT_TTL))

    def _clean_account(self, name: str) -> str:
        value = str(self.cleaned_data[name])
        if value:
            try:
                services.parse_telegram_account(value, field=name)
            except services.InvalidTelegramAccount:
                raise forms.ValidationError(
                    _(
                        "Enter a Telegram @username (5 to 32 Latin letters, digits and "
                        "underscores) or a numeric user id."
                    )
                ) from None
        return value

    def clean_secret(self) -> str:
        """
        Return the secret with the line breaks the person typed: browsers send a
        textarea's lines joined by CR LF (HTML), so the form turns CR LF and CR into LF.
        The API stores its bytes exactly as sent.
        """
        value = str(self.cleaned_data["secret"])
        return value.replace("\r\n", "\n").replace("\r", "\n")

    def clean_ciphertext(self) -> bytes | None:
        return clean_base64(self.cleaned_data["ciphertext"])

    def clean_passphrase_proof(self) -> bytes | None:
        return clean_base64(self.cleaned_data["passphrase_proof"], zk.PROOF_BYTES)

    def clean_telegram_recipient(self) -> str:
        return self._clean_account("telegram_recipient")

    def clean_notify_telegram(self) -> str:
        return self._clean_account("notify_telegram")

    def clean_notify_code(self) -> str:
        return clean_code(self.cleaned_data["notify_code"])

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        sent = data.get("secret") or data.get("ciphertext") is not None
        if not sent and not {"secret", "ciphertext"} & set(self.errors):
            self.add_error("secret", self.fields["secret"].error_messages["required"])
        account, code = data.get("notify_telegram"), data.get("notify_code")
        # Only when the account itself was valid: one error per field is enough.
        if code and not account and "notify_telegram" not in self.errors:
            self.add_error(
                "notify_telegram", _("Enter your Telegram account: the one the code came to.")
            )
        if account and not code and "notify_code" not in self.errors:
            self.add_error("notify_code", _("Enter the code the bot sent you (/code)."))
        return data


class GeneratorForm(forms.Form):
    """The create form's password generator: a length and the character classes."""

    length = forms.IntegerField(
        label=_("Length"),
        min_value=passwords.MIN_LENGTH,
        max_value=passwords.MAX_LENGTH,
        initial=passwords.DEFAULT_LENGTH,
        widget=forms.NumberInput(attrs={"class": "length"}),
    )
    classes = forms.MultipleChoiceField(
        label=_("Characters"),
        choices=[
            ("lower", _("a-z")),
            ("upper", _("A-Z")),
            ("digits", _("0-9")),
            ("symbols", _("!#$%")),
        ],
        initial=list(passwords.CLASSES),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one kind of character.")},
    )

    def password(self) -> str:
        """Return a new password as the (valid) form asks."""
        return passwords.generate_password(
            length=self.cleaned_data["length"], classes=self.cleaned_data["classes"]
        )


class UnsentPasswordInput(forms.PasswordInput):
    """
    A password field without a name, which a browser never submits: for a passphrase that
    only the page's script may read (client-encrypted secrets), also in a text browser that
    shows the form without running the script.
    """

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        context["widget"]["name"] = ""
        return context


class RevealForm(forms.Form):
    passphrase = forms.CharField(
        label=_("Passphrase"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )
    # Rendered for a secret bound to a Telegram account only.
    telegram_code = code_field()
    # "browser" when the page's script will decrypt what the reveal returns (it adds the
    # field); a client-encrypted secret is not revealed to a page without it.
    decrypt = forms.CharField(required=False, max_length=16)
    # A client-encrypted secret's passphrase, as the proof the page's script derived from it.
    passphrase_proof = base64_field(max_length=64)

    def clean_telegram_code(self) -> str:
        return clean_code(self.cleaned_data["telegram_code"])

    def keep_passphrase_in_the_page(self) -> None:
        """Render the passphrase for the page's script only: it sends a proof instead."""
        field = self.fields["passphrase"]
        field.widget = UnsentPasswordInput(attrs={**field.widget.attrs, "data-zk-passphrase": ""})

    def clean_passphrase_proof(self) -> bytes | None:
        return clean_base64(self.cleaned_data["passphrase_proof"], zk.PROOF_BYTES)
