"""« Courriels de la démonstration »: the e-mails the demo sent, for its visitors to read (their
one-time codes, invitations, the circuit's notifications). Demo only: a 404 unless the demo's
storing backend is the one configured (dev settings, ``ancrage demo``), which production refuses.
"""

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render

from ancrage.demo.models import CourrielDemo, PieceJointeDemo

STORING_BACKEND = "ancrage.demo.mail.ConsoleAndStoreBackend"


def _demo_only() -> None:
    if not (settings.ANCRAGE_DEMO and settings.EMAIL_BACKEND == STORING_BACKEND):
        raise Http404


def courriels(request):
    _demo_only()
    messages = CourrielDemo.objects.prefetch_related("pieces")
    destinataire = request.GET.get("destinataire", "").strip()
    if destinataire:
        messages = messages.filter(destinataires__icontains=destinataire)
    page = Paginator(messages, 20).get_page(request.GET.get("page"))
    return render(
        request,
        "demo/courriels.html",
        {"title": "Courriels de la démonstration", "page_obj": page, "destinataire": destinataire},
    )


def piece_jointe(request, courriel: int, piece: int):
    _demo_only()
    attachment = get_object_or_404(PieceJointeDemo, pk=piece, courriel_id=courriel)
    response = HttpResponse(bytes(attachment.contenu), content_type=attachment.type_mime)
    response["Content-Disposition"] = f'attachment; filename="{attachment.nom}"'
    return response
