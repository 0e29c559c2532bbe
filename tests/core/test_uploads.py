"""Request bodies too large are refused with a French 413 before anything is written to disk."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.urls import reverse

from ancrage.core import uploads
from tests.organisations.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def written(monkeypatch):
    """The bytes that reached the handler writing temporary files."""
    seen = []
    original = TemporaryFileUploadHandler.receive_data_chunk

    def spy(self, raw_data, start):
        seen.append(len(raw_data))
        return original(self, raw_data, start)

    monkeypatch.setattr(TemporaryFileUploadHandler, "receive_data_chunk", spy)
    return seen


def test_the_default_body_limit_is_one_file_and_its_form(settings):
    assert (
        settings.ANCRAGE_UPLOAD_MAX_BYTES
        == settings.ANCRAGE_UPLOAD_MAX_SIZE + settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    )
    assert settings.FILE_UPLOAD_HANDLERS[0] == "ancrage.core.uploads.LimitedUploadHandler"


def test_a_declared_length_past_the_limit_is_refused_before_reading(client, written):
    client.force_login(UserFactory())
    response = client.post(
        reverse("accounts:password-reset"),
        {"email": "a@exemple.fr", "fichier": SimpleUploadedFile("f.csv", b"x" * 100)},
        CONTENT_LENGTH=str(10**12),
    )
    assert response.status_code == 413
    html = response.content.decode()
    assert "Fichier trop volumineux" in html and "20 Mo" in html
    assert written == []


def test_a_visitor_not_logged_in_sends_no_large_body(client, written):
    response = client.post(
        reverse("accounts:login"),
        {
            "username": "a@exemple.fr",
            "password": "x",
            "fichier": SimpleUploadedFile("f.csv", b"x" * (2 * uploads.MIB)),
        },
    )
    assert response.status_code == 413
    assert written == []
    assert (
        client.post(reverse("accounts:login"), {"username": "a@exemple.fr", "password": "x"}).status_code
        == 200
    )


def test_a_streamed_file_past_the_limit_stops_before_its_chunk_is_written(client, settings, written):
    settings.ANCRAGE_UPLOAD_MAX_SIZE = 100 * 1024
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # every file goes to a temporary file
    client.force_login(UserFactory())
    # The body is within ANCRAGE_UPLOAD_MAX_BYTES: only the streamed count sees the file is too big.
    response = client.post(
        reverse("accounts:password-reset"),
        {"email": "a@exemple.fr", "fichier": SimpleUploadedFile("f.csv", b"x" * (1024 * 1024))},
    )
    assert response.status_code == 413
    assert sum(written) <= settings.ANCRAGE_UPLOAD_MAX_SIZE
    # A file within the limit goes through as before.
    written.clear()
    response = client.post(
        reverse("accounts:password-reset"),
        {"email": "a@exemple.fr", "fichier": SimpleUploadedFile("f.csv", b"x" * 1000)},
    )
    assert response.status_code == 302
    assert sum(written) == 1000
