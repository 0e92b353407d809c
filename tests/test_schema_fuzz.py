"""
The API keeps to its OpenAPI schema (PRODUCT.md §2.5): a bounded, reproducible schemathesis
run against the app in-process (the production WSGI application and the real test
database), every operation, every check, one request at a time and in sequences that
follow what one answer gives the next request (create, then reveal, then reveal again).
Schemathesis must find no 500, no status the schema leaves out, no answer that differs
from its schema, no request the schema forbids that is accepted, and none it allows that
is refused. Rate limits are off here (the Makefile's TEST_ENV).

Bounded: a fixed seed and a fixed number of examples, so every run sends the same
requests; a finding reproduces with the `curl` line in its report.
"""

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance

from onetime.wsgi import application

TOKEN = "schema-fuzz-verify-token"
AUTHORIZATION = {"Authorization": f"Bearer {TOKEN}"}
VERIFY = "/api/v1/codes/verify"
CREATE = "/api/v1/secrets"

CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20261204,
        "generation": {"max-examples": 50, "deterministic": True, "database": "none"},
        "checks": {
            # Schemathesis's default list, plus 410: a well-formed request for a secret that
            # was revealed, burned or expired is answered 410, as documented (like a 404).
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "410", "429"]
            },
            # Schemathesis's default list, plus 413: a request whose body is over the limit
            # is refused with 413 before anything reads it, as documented (a long
            # `ciphertext` that also breaks the schema elsewhere is one).
            "negative_data_rejection": {
                "expected-statuses": [
                    "400",
                    "401",
                    "403",
                    "404",
                    "405",
                    "406",
                    "409",
                    "413",
                    "415",
                    "422",
                    "428",
                    "429",
                    "5xx",
                ]
            },
        },
    }
)
SCHEMA = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, config=CONFIG)

load_all_checks()


REVEAL = "/api/v1/secrets/{secret_id}/reveal"

# Operations that refuse a well-formed request for what no schema can state, and the
# `status` of each such refusal: a wrong code (which code is right is state, not shape) in
# verification (`invalid_code`) and in creation with `notify_telegram` + `notify_code`
# (`wrong_notify_code`); a ciphertext that is base64url but no envelope (`invalid_ciphertext`),
# or a passphrase or a proof that does not fit the envelope or the secret's encryption
# (`wrong_encryption_mode`).
WRONG_CODE = {
    (VERIFY, "POST"): {"invalid_code"},
    (CREATE, "POST"): {"wrong_notify_code", "invalid_ciphertext", "wrong_encryption_mode"},
    (REVEAL, "POST"): {"wrong_encryption_mode"},
}


def only_wrong_codes_are_refused(ctx: Any, response: Any, case: Any) -> None:
    """
    Any 400 for a request the schema allows, other than the operation's wrong code, means
    the schema and the API disagree.
    """
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if response.status_code == 400:
        wrong_codes = WRONG_CODE[(case.operation.path, case.operation.method.upper())]
        assert response.json()["status"] in wrong_codes, response.json()
    else:
        positive_data_acceptance(ctx, response, case)


# The compatibility APIs (docs/compatibility.md) answer as their peers define them, and the
# peers accept what their schema would refuse (Rails casts, OneTimeSecret clamps), refuse
# what it allows with their own statuses (OneTimeSecret's 404 for every error), and keep a
# deleted push readable as "expired": there, the schema is held to what it documents (no
# 500, the statuses, types and shapes of the answers), not to what the peers accept.
COMPAT_TAGS = {"Password Pusher v1", "Password Pusher v2", "OneTimeSecret v1"}
NOT_FOR_COMPAT = {
    "positive_data_acceptance",
    "negative_data_rejection",
    "use_after_free",
    "ensure_resource_availability",
}


def checks_for(case: Any) -> list[Any]:
    checks = list(CHECKS.get_all())
    if COMPAT_TAGS.intersection(case.operation.definition.raw.get("tags") or ()):
        return [check for check in checks if check.__name__ not in NOT_FOR_COMPAT]
    if (case.operation.path, case.operation.method.upper()) in WRONG_CODE:
        checks = [check for check in checks if check is not positive_data_acceptance]
        checks.append(only_wrong_codes_are_refused)
    return checks


@pytest.fixture(autouse=True)
def _verify_token(settings, wsgi_application):
    settings.CODES_VERIFY_TOKEN = TOKEN
    # A bot, so that the Telegram fields the schema allows are accepted (without one they
    # are refused with 400 `telegram_not_configured`, as documented).
    settings.TELEGRAM_BOT_TOKEN = "123:schema-fuzz"
    settings.TELEGRAM_BOT_USERNAME = "onetime_fuzz_bot"


@pytest.mark.django_db
@SCHEMA.parametrize()
def test_each_operation_keeps_to_the_schema(case):
    case.call_and_validate(headers=AUTHORIZATION, checks=checks_for(case))


class Sequences(SCHEMA.as_state_machine()):  # type: ignore[misc]
    def get_call_kwargs(self, case: Any) -> dict[str, Any]:
        return {"headers": AUTHORIZATION}

    def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
        kwargs.pop("additional_checks", None)
        case.validate_response(
            response,
            checks=checks_for(case),
            transport_kwargs=kwargs or None,
            recorder=self.recorder,
        )


@pytest.mark.django_db
def test_sequences_of_operations_keep_to_the_schema():
    Sequences.run(
        settings=hypothesis_settings(
            max_examples=30,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
