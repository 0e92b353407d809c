"""The create form's password generator (issue 13, item 10): server side and in the browser."""

import re
import string

import pytest

from onetime.vault import passwords
from onetime.vault.models import Secret
from tests.browser import DESKTOP, new_context

GENERATE = {
    "secret": "what I had typed",
    "ttl": "3600",
    "generate": "1",
    "generator-length": "24",
    "generator-classes": ["lower", "digits"],
}


@pytest.mark.parametrize(
    "classes",
    [["lower"], ["upper", "digits"], ["lower", "upper", "digits", "symbols"], ["symbols"]],
)
def test_a_password_has_the_length_and_one_of_each_chosen_kind_and_nothing_else(classes):
    for _ in range(50):
        password = passwords.generate_password(length=8, classes=classes)

        assert len(password) == 8
        allowed = "".join(passwords.CLASSES[name] for name in classes)
        assert set(password) <= set(allowed)
        for name in classes:
            assert set(password) & set(passwords.CLASSES[name])


def test_passwords_differ():
    drawn = {passwords.generate_password(length=20, classes=["lower"]) for _ in range(100)}

    assert len(drawn) == 100


@pytest.mark.parametrize(("length", "classes"), [(7, ["lower"]), (129, ["lower"]), (20, [])])
def test_impossible_requests_are_refused(length, classes):
    with pytest.raises(ValueError, match=r"length|class"):
        passwords.generate_password(length=length, classes=classes)


@pytest.mark.django_db
def test_without_javascript_the_form_comes_back_with_a_password_and_nothing_is_stored(client):
    page = client.post("/", GENERATE)

    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store"
    field = re.search(r'<textarea name="secret"[^>]*>\n?([^<]*)</textarea>', page.content.decode())
    assert field is not None
    password = field[1]
    assert len(password) == 24
    assert set(password) <= set(string.ascii_lowercase + string.digits)
    assert 'value="3600" selected' in page.content.decode()  # the rest of the form is kept
    assert not Secret.objects.exists()


@pytest.mark.django_db
def test_a_generator_request_without_any_kind_of_character_says_so(client):
    page = client.post("/", {**GENERATE, "generator-classes": []}, HTTP_ACCEPT_LANGUAGE="en")

    assert page.status_code == 400
    assert "Choose at least one kind of character." in page.content.decode()
    assert not Secret.objects.exists()


@pytest.mark.browser
def test_in_the_browser_it_generates_without_a_request_and_enter_still_creates(
    browser, live_server
):
    context = new_context(browser, viewport=DESKTOP, locale="en-US")
    page = context.new_page()
    page.goto(f"{live_server.url}/")
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else 0)

    page.click("details.generator summary")
    page.fill("input[name=generator-length]", "32")
    page.uncheck("input[value=symbols]")
    page.click("[data-generate]")

    password = page.input_value("textarea[name=secret]")
    assert len(password) == 32
    assert set(password) <= set(string.ascii_letters + string.digits)
    assert posts == []  # made in the browser
    assert page.locator("[data-generated]").is_visible()

    # Enter in a field submits the form's default button, which creates the link.
    page.fill("input[name=passphrase]", "pass")
    with page.expect_navigation():
        page.press("input[name=passphrase]", "Enter")
    assert page.locator("#share-url").count() == 1
    context.close()
