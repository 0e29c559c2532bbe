"""Request bodies are refused by size before Django's multipart parser writes them to disk.

``BodySizeLimitMiddleware`` answers 413 (a French page) as soon as the declared ``Content-Length``
is larger than ``ANCRAGE_UPLOAD_MAX_BYTES`` (one uploaded file, ``ANCRAGE_UPLOAD_MAX_SIZE``, plus the
other fields of its form by default), or than ``ANONYMOUS_MAX_BYTES`` for a visitor who is not
logged in (no anonymous page takes a file but the public verification of a convention,
``VERIFIER_PATH``, up to ``ANCRAGE_VERIFIER_MAX_SIZE``). It runs before any view and before the CSRF check,
which reads the body.

``LimitedUploadHandler``, first of ``FILE_UPLOAD_HANDLERS``, counts the bytes of each file as they
are streamed and stops the upload once one passes ``ANCRAGE_UPLOAD_MAX_SIZE``, before the chunk
reaches the handler that writes temporary files; the middleware then turns the response into the
same 413 page. It covers a body whose declared length is within the limit but whose file is not.

``check_file`` is what every importer calls on a file before reading it: ``safe_files.check_upload``
(size, real content type, zip bombs, XML entities) with the operator's ``ANCRAGE_UPLOAD_MAX_SIZE``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.shortcuts import render

from ancrage.core import safe_files

MIB = 1024 * 1024
ANONYMOUS_MAX_BYTES = 1 * MIB  # a login or reset form is a few hundred bytes
VERIFIER_PATH = "/verifier/"  # ancrage.www.verification_views, open to anyone
VERIFIER_FORM_BYTES = 64 * 1024  # the multipart envelope and the CSRF token around the PDF

TOO_LARGE_ATTRIBUTE = "_ancrage_upload_too_large"


def check_file(data: bytes, *, filename: str, accept, size: int | None = None) -> str:
    """Check an uploaded file before any parser opens it; its kind, or ``ImportRejected``."""
    max_size = getattr(settings, "ANCRAGE_UPLOAD_MAX_SIZE", safe_files.Limits.max_size)
    limits = safe_files.Limits(max_size=max_size)
    return safe_files.check_upload(data, filename=filename, accept=accept, limits=limits, size=size)


def body_limit() -> int:
    return settings.ANCRAGE_UPLOAD_MAX_BYTES


def _too_large(request, limit: int):
    return render(
        request,
        "413.html",
        {"title": "Fichier trop volumineux", "limite_mo": max(1, limit // MIB)},
        status=413,
    )


def _declared_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class BodySizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        length = _declared_length(request)
        if length > body_limit():
            return _too_large(request, settings.ANCRAGE_UPLOAD_MAX_SIZE)
        if length > ANONYMOUS_MAX_BYTES and not request.user.is_authenticated:
            # The one anonymous page that takes a file: the public verification of a convention.
            verifier_limit = settings.ANCRAGE_VERIFIER_MAX_SIZE + VERIFIER_FORM_BYTES
            if request.path != VERIFIER_PATH:
                return _too_large(request, ANONYMOUS_MAX_BYTES)
            if length > verifier_limit:
                return _too_large(request, settings.ANCRAGE_VERIFIER_MAX_SIZE)
        response = self.get_response(request)
        if getattr(request, TOO_LARGE_ATTRIBUTE, False):
            return _too_large(request, settings.ANCRAGE_UPLOAD_MAX_SIZE)
        return response


class LimitedUploadHandler(FileUploadHandler):
    """Stops the upload of a file once its streamed size passes ``ANCRAGE_UPLOAD_MAX_SIZE``."""

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.ANCRAGE_UPLOAD_MAX_SIZE:
            if self.request is not None:
                setattr(self.request, TOO_LARGE_ATTRIBUTE, True)
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None
