"""Generating a convention's documents in the background.

Rendering the PDF (WeasyPrint) takes about a second, converting a custom model with LibreOffice
up to two minutes: the page never waits. A job is a row of ``GenerationJob``, run by the shared
mechanism of ``ancrage.core.jobs`` (a thread started after the commit, or ``ancrage
worker-conventions``; ``ANCRAGE_JOBS_SYNC`` runs it inline in the tests).

Nothing is half-written: the version's row, its audit entry and the job's "terminée" are one
transaction, which first locks the job's row (an attempt requeued meanwhile writes nothing). The
files are written inside that transaction and removed if it does not commit. A worker killed
before the commit leaves only its files, named after the job (``…-g<job id>…``): when the stale
job is requeued (``recover_stale``, or asking for the version again), ``_remove_orphans`` deletes
those no version references.
"""

import logging

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

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
from ancrage.conventions.documents import generate_docx, generate_odt, generate_pdf, sha256_hex
from ancrage.conventions.enums import JobState
from ancrage.conventions.modeles import build_document
from ancrage.conventions.models import Convention, ConventionVersion, GenerationJob
from ancrage.core.jobs import Queue, Step

logger = logging.getLogger(__name__)


def schedule(job_id: int) -> None:
    QUEUE.schedule(job_id)


def run(job_id: int) -> None:
    """Run the job if it is still waiting; a job another worker claimed is left alone."""
    QUEUE.run(job_id)


def run_pending() -> int:
    """Run every waiting job (the worker command). Returns how many were run."""
    return QUEUE.run_pending()


def is_stale(job: GenerationJob) -> bool:
    return QUEUE.is_stale(job)


def requeue_stale(job: GenerationJob) -> bool:
    """Put back in the queue a job whose worker died, removing the files it left."""
    return QUEUE.requeue_stale(job.pk, cleanup=_remove_orphans)


def recover_stale() -> int:
    """Requeue every stale job (the worker command calls it before each pass)."""
    return QUEUE.recover_stale(cleanup=_remove_orphans)


def _file_stem(numero: int, pdf_sha256: str, job: GenerationJob) -> str:
    return f"v{numero}-{pdf_sha256[:12]}-g{job.pk}"


def _remove_orphans(job: GenerationJob) -> int:
    """Delete the files a dead attempt of ``job`` wrote and no version references."""
    field = ConventionVersion._meta.get_field("pdf")
    storage = field.storage
    directory = f"conventions/{job.convention_id}"
    try:
        _dirs, files = storage.listdir(directory)
    except FileNotFoundError:
        return 0
    referenced = set()
    versions = ConventionVersion.objects.filter(convention_id=job.convention_id)
    for docx, pdf, odt in versions.values_list("docx", "pdf", "odt"):
        referenced.update((docx, pdf, odt))
    marker = f"-g{job.pk}"
    removed = 0
    for name in files:
        path = f"{directory}/{name}"
        if marker in name and path not in referenced:
            storage.delete(path)
            removed += 1
    if removed:
        logger.warning("Convention job %s: %s file(s) of a dead attempt removed", job.pk, removed)
    return removed


def text_sha256(convention: Convention, numero: int) -> str:
    """SHA-256 of a built-in model's plain text ("" for a custom model)."""
    if convention.modele_personnalise_id:
        return ""
    content = selectors.content_for(convention, version=numero)
    return sha256_hex(build_document(convention.modele, content).plain_text().encode())


def render(convention: Convention, numero: int):
    """(docx, pdf, signature box, odt) of the convention as it stands. Slow: never in a request.
    A custom DOCX model has no ODT (None): it is the user's own Word file."""
    content = selectors.content_for(convention, version=numero)
    if convention.modele_personnalise_id:
        modele = convention.modele_personnalise
        with modele.fichier.open("rb") as handle:
            data = handle.read()
        docx = render_custom_model(data, content, modele.nom_fichier)
        # A custom model has no frame kept for the seal: sign_pdf adds a page for it.
        return docx, convert_with_libreoffice(docx.content), None, None
    docx = generate_docx(convention.modele, content)
    pdf = generate_pdf(convention.modele, content)
    return docx, pdf.content, pdf.signature_box, generate_odt(convention.modele, content)


def _generate(job: GenerationJob) -> None:
    convention = Convention.objects.select_related(
        "structure", "collectivite", "action", "modele_personnalise"
    ).get(pk=job.convention_id)
    edition = convention.edition
    numero = (convention.versions.aggregate(n=Max("numero"))["n"] or 0) + 1
    written = []
    try:
        docx, pdf_bytes, box, odt = render(convention, numero)
        texte = text_sha256(convention, numero)
        with transaction.atomic():
            if not QUEUE.owns(job):
                logger.warning("Convention job %s: attempt %s superseded", job.pk, job.attempt)
                return
            version = ConventionVersion(
                convention=convention,
                numero=numero,
                edition=edition,
                docx_sha256=docx.sha256,
                pdf_sha256=sha256_hex(pdf_bytes),
                texte_sha256=texte,
                cadre_signature=[box[0], list(box[1])] if box else None,
                created_by=job.created_by,
            )
            stem = _file_stem(numero, version.pdf_sha256, job)
            version.docx.save(f"{stem}.docx", ContentFile(docx.content), save=False)
            written.append(version.docx)
            version.pdf.save(f"{stem}.pdf", ContentFile(pdf_bytes), save=False)
            written.append(version.pdf)
            if odt is not None:
                version.odt_sha256 = odt.sha256
                version.odt.save(f"{stem}.odt", ContentFile(odt.content), save=False)
                written.append(version.odt)
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
                    "odt_sha256": version.odt_sha256,
                },
            )
            # Finished in the same transaction as the version: a retry never makes it twice.
            QUEUE.mine(job).update(
                state=JobState.TERMINE, version=version, erreur="", updated_at=timezone.now()
            )
    except (ContentError, CustomModelError, LibreOfficeError, ValueError) as exc:
        _discard(written)
        QUEUE.mine(job).update(state=JobState.ECHEC, erreur=str(exc), updated_at=timezone.now())
    except Exception:  # a rendering bug must not leave the page waiting forever
        _discard(written)
        logger.exception("Convention job %s: unexpected error", job.pk)
        QUEUE.mine(job).update(
            state=JobState.ECHEC,
            erreur="La génération du document a échoué ; réessayez ou prévenez l’exploitant.",
            updated_at=timezone.now(),
        )


def _discard(files) -> None:
    """Remove the files of a transaction that did not commit."""
    for field in files:
        field.storage.delete(field.name)


QUEUE = Queue(GenerationJob, [Step(JobState.EN_ATTENTE, JobState.EN_COURS, _generate)], name="convention")
