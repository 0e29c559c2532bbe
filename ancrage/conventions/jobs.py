"""Generating a convention's documents in the background.

Rendering the PDF (WeasyPrint) takes about a second, converting a custom model with LibreOffice
up to two minutes: the page never waits. A job is a row of ``GenerationJob``; the page creates
it and returns at once, and shows the job's state until the version exists.

The mechanism is the diagnostic's (``ancrage/diagnostic/jobs.py``): a thread started after the
commit, a conditional UPDATE that claims the job so it never runs twice, ``ANCRAGE_JOBS_SYNC`` to
run inline (tests), and a worker command (``ancrage conventions_worker``) for jobs whose thread
died with the server. Its job table is tied to file imports (a structure, an uploaded file, an
analyse/confirm cycle), so conventions keep a table of their own rather than bend that one.
"""

import logging
import threading

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import close_old_connections, connection, transaction
from django.db.models import Max

from ancrage.audit.enums import AuditAction
from ancrage.audit.services import audit_record
from ancrage.conventions import selectors
from ancrage.conventions.content import ContentError
from ancrage.conventions.custom_models import (
    CustomModelError,
    LibreOfficeError,
    convert_with_libreoffice,
    render_custom_model,
)
from ancrage.conventions.documents import generate_docx, generate_pdf, sha256_hex
from ancrage.conventions.enums import JobState
from ancrage.conventions.models import Convention, ConventionVersion, GenerationJob

logger = logging.getLogger(__name__)


def schedule(job_id: int) -> None:
    if getattr(settings, "ANCRAGE_JOBS_SYNC", False):
        run(job_id)  # inline: the caller's transaction already sees the job
    else:
        # The thread has its own connection: it must only start once the job row is committed.
        transaction.on_commit(lambda: start(job_id))


def start(job_id: int) -> None:
    threading.Thread(target=_run_in_thread, args=(job_id,), name=f"convention-{job_id}", daemon=True).start()


def _run_in_thread(job_id: int) -> None:
    close_old_connections()
    try:
        run(job_id)
    finally:
        connection.close()


def run(job_id: int) -> None:
    """Run the job if it is still waiting; a job another worker claimed is left alone."""
    if GenerationJob.objects.filter(pk=job_id, state=JobState.EN_ATTENTE).update(state=JobState.EN_COURS):
        _generate(GenerationJob.objects.select_related("convention", "created_by").get(pk=job_id))


def run_pending() -> int:
    """Run every waiting job (the worker command). Returns how many were run."""
    ids = list(
        GenerationJob.objects.filter(state=JobState.EN_ATTENTE)
        .order_by("created_at")
        .values_list("pk", flat=True)
    )
    for job_id in ids:
        run(job_id)
    return len(ids)


def render(convention: Convention, numero: int):
    """(docx, pdf, signature box) of the convention as it stands. Slow: never in a request."""
    content = selectors.content_for(convention, version=numero)
    if convention.modele_personnalise_id:
        modele = convention.modele_personnalise
        with modele.fichier.open("rb") as handle:
            data = handle.read()
        docx = render_custom_model(data, content, modele.nom_fichier)
        # A custom model has no frame kept for the seal: sign_pdf adds a page for it.
        return docx, convert_with_libreoffice(docx.content), None
    docx = generate_docx(convention.modele, content)
    pdf = generate_pdf(convention.modele, content)
    return docx, pdf.content, pdf.signature_box


def _generate(job: GenerationJob) -> None:
    convention = Convention.objects.select_related(
        "structure", "collectivite", "action", "modele_personnalise"
    ).get(pk=job.convention_id)
    edition = convention.edition
    numero = (convention.versions.aggregate(n=Max("numero"))["n"] or 0) + 1
    try:
        docx, pdf_bytes, box = render(convention, numero)
        with transaction.atomic():
            version = ConventionVersion(
                convention=convention,
                numero=numero,
                edition=edition,
                docx_sha256=docx.sha256,
                pdf_sha256=sha256_hex(pdf_bytes),
                cadre_signature=[box[0], list(box[1])] if box else None,
                created_by=job.created_by,
            )
            stem = f"v{numero}-{version.pdf_sha256[:12]}"
            version.docx.save(f"{stem}.docx", ContentFile(docx.content), save=False)
            version.pdf.save(f"{stem}.pdf", ContentFile(pdf_bytes), save=False)
            version.save()
            audit_record(
                acting_user=job.created_by,
                action=AuditAction.CREATE,
                obj=version,
                structure=convention.structure,
                changes={
                    "numero": numero,
                    "docx_sha256": version.docx_sha256,
                    "pdf_sha256": version.pdf_sha256,
                },
            )
    except (ContentError, CustomModelError, LibreOfficeError, ValueError) as exc:
        GenerationJob.objects.filter(pk=job.pk).update(state=JobState.ECHEC, erreur=str(exc))
        return
    except Exception:  # a rendering bug must not leave the page waiting forever
        logger.exception("Convention job %s: unexpected error", job.pk)
        GenerationJob.objects.filter(pk=job.pk).update(
            state=JobState.ECHEC,
            erreur="La génération du document a échoué ; réessayez ou prévenez l’exploitant.",
        )
        return
    GenerationJob.objects.filter(pk=job.pk).update(state=JobState.TERMINE, version=version, erreur="")
