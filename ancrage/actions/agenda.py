"""Calendar feeds: a secret, revocable address per EPN and per partner organisation, which a
calendar (Thunderbird, Outlook, Google Agenda, a phone) subscribes to without logging in.

What a feed lists is scoped as the pages are: an EPN's feed, the sessions its team sees (its own
actions'); a partner's feed, the sessions a member of that partner sees (only the actions it is a
partner of). A feed carries what a calendar needs (the action's and session's titles, times,
place, the action's page) and nothing of the usagers or the meetings' participants.

The address is ``/agenda/flux/<id>/<clé>.ics``, where the key is an HMAC-SHA256 (256 bits,
base64url) of the feed's id and its random ``sel``, with ``core.keys.agenda_key``: the database
holds no address, a guess has one chance in 2²⁵⁶, and the key is compared in constant time.
« Régénérer l’adresse » draws a new ``sel`` (the old address answers 404), « Désactiver » turns
the feed off (404 too); both, and the creation, are audited.

Who manages a feed (sees its address, regenerates it, turns it off): the EPN's team (those who
write its actions, ``Permission.ACTION_WRITE``), or the members of the partner organisation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from ancrage.actions import ical
from ancrage.actions.models import FluxAgenda, Seance
from ancrage.audit.enums import AuditAction
from ancrage.audit.services import audit_record
from ancrage.core.keys import agenda_key
from ancrage.organisations.enums import StructureKind
from ancrage.organisations.models import Structure
from ancrage.organisations.permissions import Permission, epns_with
from ancrage.organisations.scoping import Scope, scope_for

#: How often a subscribed calendar should fetch the feed again.
REFRESH = timedelta(hours=1)


class NotManager(Exception):
    """The user does not manage this organisation's feed."""


# --- Who manages a feed ------------------------------------------------------------------------


def managed_structures(user):
    """The organisations whose feed ``user`` manages: the EPNs where they write actions, the
    partner organisations they are a member of (superusers: none of their own)."""
    scope = scope_for(user)
    if scope.is_anonymous:
        return Structure.objects.none()
    epns = epns_with(scope, Permission.ACTION_WRITE)
    return Structure.objects.filter(
        pk__in=set(epns) | set(scope.partner_ids),
    ).order_by("kind", "nom")


def manages_any(user) -> bool:
    """Whether ``user`` manages a feed (from the request's scope: no query)."""
    scope = scope_for(user)
    return not scope.is_anonymous and bool(epns_with(scope, Permission.ACTION_WRITE) or scope.partner_ids)


def may_manage(user, structure: Structure) -> bool:
    scope = scope_for(user)
    if structure.kind == StructureKind.PARTENAIRE:
        return structure.pk in scope.partner_ids
    return structure.pk in epns_with(scope, Permission.ACTION_WRITE)


def _check(user, structure):
    if not may_manage(user, structure):
        raise NotManager


# --- The secret address ------------------------------------------------------------------------


def cle(flux: FluxAgenda) -> str:
    mac = hmac.new(agenda_key(), f"{flux.pk}:{flux.sel}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def path(flux: FluxAgenda) -> str:
    return reverse("agenda:flux", kwargs={"pk": flux.pk, "cle": cle(flux)})


def lookup(pk: int, key: str) -> FluxAgenda | None:
    """The active feed this address names, or None (unknown, regenerated, turned off)."""
    flux = FluxAgenda.objects.select_related("structure").filter(pk=pk, actif=True).first()
    if flux is None or not hmac.compare_digest(cle(flux).encode(), key.encode()):
        return None
    return flux


@transaction.atomic
def flux_regenerate(*, acting_user, structure: Structure) -> FluxAgenda:
    """Create the organisation's feed, or give it a new address (the old one stops working)."""
    _check(acting_user, structure)
    flux = FluxAgenda.objects.select_for_update().filter(structure=structure).first()
    created = flux is None
    if created:
        flux = FluxAgenda(structure=structure)
    flux.sel = secrets.token_hex(32)
    flux.actif = True
    flux.updated_by = acting_user
    flux.save()
    audit_record(
        acting_user=acting_user,
        action=AuditAction.CREATE if created else AuditAction.UPDATE,
        obj=flux,
        structure=_audit_structure(structure),
        changes={"adresse": "créée" if created else "régénérée (l’ancienne ne répond plus)"},
    )
    return flux


@transaction.atomic
def flux_deactivate(*, acting_user, structure: Structure) -> bool:
    _check(acting_user, structure)
    flux = FluxAgenda.objects.select_for_update().filter(structure=structure, actif=True).first()
    if flux is None:
        return False
    flux.actif = False
    flux.sel = secrets.token_hex(32)  # turning it on again gives a new address
    flux.updated_by = acting_user
    flux.save()
    audit_record(
        acting_user=acting_user,
        action=AuditAction.UPDATE,
        obj=flux,
        structure=_audit_structure(structure),
        changes={"actif": [True, False]},
    )
    return True


def _audit_structure(structure):
    """The EPN whose journal shows the entry: the EPN itself, or the one that referenced a partner."""
    if structure.kind == StructureKind.PARTENAIRE:
        return structure.referencee_par
    return structure


# --- What a feed lists -------------------------------------------------------------------------


def feed_scope(structure: Structure) -> Scope:
    """The scope of a member of the organisation who reads its sessions: its team's for an EPN, a
    partner member's for a partner organisation (no role beyond reading)."""
    if structure.kind == StructureKind.PARTENAIRE:
        return Scope(user_id=0, partner_ids=frozenset({structure.pk}))
    return Scope(user_id=0, epn_ids=frozenset({structure.pk}))


def seances(structure: Structure):
    return Seance.objects.visible_to(feed_scope(structure)).select_related("action").order_by("debut", "pk")


def uid_domain(request_host: str = "") -> str:
    """``ANCRAGE_ICAL_UID_DOMAIN``, else the site's host as the request names it (without port)."""
    domain = settings.ANCRAGE_ICAL_UID_DOMAIN or request_host.rsplit(":", 1)[0]
    return domain or "ancrage.local"


def calendar_name(structure: Structure) -> str:
    return f"Séances — {structure.nom}"


def events(structure: Structure, *, base_url: str = "") -> list[ical.CalendarEvent]:
    return [
        ical.CalendarEvent(
            kind="seance",
            id=str(seance.pk),
            title=f"{seance.action.titre} — {seance.titre}",
            start=seance.debut,
            end=seance.fin,
            location=seance.lieu or seance.action.lieu,
            url=f"{base_url}{seance.action.get_absolute_url()}",
            sequence=seance.sequence,
            last_modified=max(seance.updated_at, seance.action.updated_at),
        )
        for seance in seances(structure)
    ]


def feed_bytes(structure: Structure, *, base_url: str, request_host: str) -> bytes:
    return ical.calendar_bytes(
        events(structure, base_url=base_url),
        name=calendar_name(structure),
        domain=uid_domain(request_host),
        refresh=REFRESH,
    )
