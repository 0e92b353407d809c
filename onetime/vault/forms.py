from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

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


class SecretForm(forms.Form):
    # strip=False: whitespace is part of a secret.
    secret = forms.CharField(
        label=_("Secret"),
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6, "autocomplete": "off", "spellcheck": "false"}),
    )
    ttl = forms.TypedChoiceField(label=_("Lifetime"), coerce=int, choices=[])
    passphrase = forms.CharField(
        label=_("Passphrase (optional)"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("The recipient will need it too; send it by another channel."),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        choices = ttl_choices()
        field = self.fields["ttl"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = choices
        values = [seconds for seconds, _label in choices]
        # The preset nearest to ONETIME_DEFAULT_TTL.
        field.initial = min(values, key=lambda v: abs(v - settings.ONETIME_DEFAULT_TTL))


class RevealForm(forms.Form):
    passphrase = forms.CharField(
        label=_("Passphrase"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )
