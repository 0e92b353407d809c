"""
A request naming a host the service does not serve (ALLOWED_HOSTS) is answered 400 with a
clear message and logged as one WARNING line: scanners send such requests all day, and a
traceback per request buried everything else in the log.
"""

import logging

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]

BAD_HOST = "evil.example"
PATHS = ["/", "/s/6f1c43a8-3a35-4a39-9a68-1e1a39b8f2a1", "/api/v1/secrets"]


@pytest.mark.parametrize("path", PATHS)
def test_a_bad_host_is_logged_as_one_warning_line_without_a_traceback(client, caplog, path):
    response = client.get(path, headers={"host": BAD_HOST})

    assert response.status_code == 400
    [record] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert record.levelno == logging.WARNING
    assert record.exc_info is None
    assert BAD_HOST in record.getMessage()
    assert "\n" not in record.getMessage()
    assert "Traceback" not in caplog.text


def test_the_page_says_what_is_wrong(client):
    response = client.get("/", headers={"host": BAD_HOST, "accept-language": "en"})

    assert response.status_code == 400
    assert b"This server does not serve the host named in the request." in response.content


def test_the_api_says_it_in_json(client):
    response = client.get("/api/v1/secrets/nope", headers={"host": BAD_HOST})

    assert response.status_code == 400
    assert response.json() == {
        "status": "bad_host",
        "detail": "Этот сервер не обслуживает хост, указанный в запросе.",
    }
