from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import render

from ancrage.audit.models import AuditEntry
from ancrage.organisations import permissions
from ancrage.organisations.scoping import scope_for


@login_required
def journal(request):
    """The audit trail of the EPNs the user oversees: responsables, référents, coordinateurs."""
    scope = scope_for(request.user)
    if not scope.is_superuser and not permissions.holds_any(scope.roles, permissions.JOURNAL_READERS):
        raise PermissionDenied
    entries = AuditEntry.objects.all()
    if not scope.is_superuser:
        entries = entries.filter(Q(structure_id__in=scope.epn_ids) | Q(actor=request.user))
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    ip_epns = permissions.journal_ip_epns(scope)
    for entry in page:
        entry.show_address = (
            ip_epns is None or entry.actor_id == request.user.pk or entry.structure_id in ip_epns
        )
    return render(request, "journal/list.html", {"title": "Journal d’activité", "page_obj": page})
