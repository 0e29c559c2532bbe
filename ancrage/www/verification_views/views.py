"""The public verification page: anyone uploads a signed convention and reads its report.

No login. The PDF is read in memory and forgotten: an upload handler of its own keeps it out of
the temporary files Django would write past ``FILE_UPLOAD_MAX_MEMORY_SIZE`` (the body-size
middleware and ``ANCRAGE_VERIFIER_MAX_SIZE`` bound it). Uploads are counted per IP address
(``ancrage.core.ratelimit``). The report is ``ancrage.conventions.verification``'s, the one the
`ancrage verifier` command prints.
"""

from __future__ import annotations

import io

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from ancrage.audit.middleware import client_ip
from ancrage.conventions.verification import verification_report
from ancrage.core import ratelimit, safe_files
from ancrage.core.importing import ImportRejected
from ancrage.core.uploads import MIB, LimitedUploadHandler
from ancrage.www.forms import AncrageForm


class VerificationForm(AncrageForm):
    fichier = forms.FileField(
        label="Convention signée (PDF)",
        error_messages={"required": "Choisissez le fichier PDF à vérifier.", "empty": "Le fichier est vide."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[
            "fichier"
        ].help_text = f"Le fichier PDF de la convention, tel que vous l’avez reçu : {_limit_mo()} Mo au plus."


class InMemoryOnlyHandler(FileUploadHandler):
    """Keeps every uploaded file in memory, whatever its size (never in a temporary file)."""

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.buffer = io.BytesIO()

    def receive_data_chunk(self, raw_data, start):
        self.buffer.write(raw_data)
        return None

    def file_complete(self, file_size):
        self.buffer.seek(0)
        return InMemoryUploadedFile(
            self.buffer, self.field_name, self.file_name, self.content_type, file_size, self.charset
        )


def _limit_mo() -> int:
    return max(1, settings.ANCRAGE_VERIFIER_MAX_SIZE // MIB)


@csrf_exempt  # the upload handlers must be set before the CSRF check reads the body
def verifier(request):
    request.upload_handlers = [LimitedUploadHandler(request), InMemoryOnlyHandler(request)]
    return _verifier(request)


@csrf_protect
def _verifier(request):
    context = {
        "title": "Vérifier une convention signée",
        "report": None,
        "refus": "",
    }
    status = 200
    if request.method == "POST":
        form = VerificationForm(request.POST, request.FILES)
        allowed = ratelimit.allow(
            "verifier",
            [f"ip:{client_ip(request)}"],
            limit=settings.ANCRAGE_VERIFIER_LIMIT,
            window=settings.ANCRAGE_VERIFIER_WINDOW_MINUTES * 60,
        )
        if not allowed:
            form = VerificationForm()
            context["refus"] = (
                "Trop de vérifications ont été demandées depuis votre adresse. "
                f"Réessayez dans {settings.ANCRAGE_VERIFIER_WINDOW_MINUTES} minutes."
            )
            status = 429
        elif form.is_valid():
            upload = form.cleaned_data["fichier"]
            data = upload.read()
            try:
                safe_files.check_upload(
                    data,
                    filename=upload.name,
                    accept={"pdf"},
                    limits=safe_files.Limits(max_size=settings.ANCRAGE_VERIFIER_MAX_SIZE),
                )
            except ImportRejected as exc:
                form.add_error("fichier", f"« {upload.name} » : {exc.issues[0].message}")
                status = 400
            else:
                context["report"] = verification_report(data)
                context["nom_fichier"] = upload.name
                form = VerificationForm()
            del data
        else:
            status = 400
    else:
        form = VerificationForm()
    context["form"] = form
    return render(request, "verification/verifier.html", context, status=status)
