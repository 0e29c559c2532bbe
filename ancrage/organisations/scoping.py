"""Who sees what: the one mechanism every page and export goes through.

A user's ``Scope`` is computed from their memberships:

- animateur / responsable d'EPN: the records of their EPN(s);
- référent / élu of a collectivité: the records of the EPNs attached to it or located in its
  territory (its communes, from the COG);
- coordinateur de réseau: the records of every EPN of the réseau;
- partenaire: only the records their organisation is party to.

Each scoped model declares, with ``Scoping``, the paths from itself to the EPN that owns it,
to the partner organisations involved, and optionally to a collectivité or réseau. Then
``Model.objects.visible_to(user)`` is the only way pages and exports read records.

Which role reaches what, and which role may write what, is declared in ``permissions``: the scope
records, for each role the user holds, the EPNs it reaches, and ``Scope.may`` asks the module.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q

from ancrage.organisations import permissions
from ancrage.organisations.permissions import Permission, Role, Target


@dataclass(frozen=True)
class Scope:
    user_id: int | None
    is_superuser: bool = False
    roles: frozenset[str] = frozenset()
    # EPNs whose records the user may read.
    epn_ids: frozenset[int] = frozenset()
    # EPNs the user works in (a role of permissions.EPN_TEAM). What they may do there: ``may``.
    staff_epn_ids: frozenset[int] = frozenset()
    collectivite_ids: frozenset[int] = frozenset()
    reseau_ids: frozenset[int] = frozenset()  # réseaux the user coordinates
    partner_ids: frozenset[int] = frozenset()  # partner organisations the user represents
    # For each role the user holds, the EPNs it reaches: what ``permissions.may`` reads.
    epn_reach: Mapping[str, frozenset[int]] = field(default_factory=dict, compare=False)
    # For each collectivité role the user holds, the collectivités they hold it in.
    collectivite_reach: Mapping[str, frozenset[int]] = field(default_factory=dict, compare=False)
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def is_anonymous(self) -> bool:
        return self.user_id is None

    def can_read_epn(self, structure_id: int) -> bool:
        return self.is_superuser or structure_id in self.epn_ids

    def may(self, permission: Permission, structure_id: int) -> bool:
        """Whether the user holds ``permission`` on the records of EPN ``structure_id``."""
        return permissions.may(self, permission, structure_id)


ANONYMOUS = Scope(user_id=None)


def _paths(value) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


@dataclass(frozen=True)
class Scoping:
    """How a model's records relate to the organisations a scope names.

    Each argument is a lookup path (or a tuple of paths) from the model to the primary key of
    the related organisation, e.g. ``epn="action__structure"``.
    """

    epn: str | tuple[str, ...] | None = None
    partner: str | tuple[str, ...] | None = None
    collectivite: str | tuple[str, ...] | None = None
    reseau: str | tuple[str, ...] | None = None

    def condition(self, scope: Scope) -> Q:
        q = Q(pk__in=[])
        for attribute, ids in (
            ("epn", scope.epn_ids),
            ("partner", scope.partner_ids),
            ("collectivite", scope.collectivite_ids),
            ("reseau", scope.reseau_ids),
        ):
            if ids:
                for path in _paths(getattr(self, attribute)):
                    q |= Q(**{f"{path}__in": ids})
        return q


def scope_for(user) -> Scope:
    """The user's scope, computed once per user object (i.e. once per request)."""
    if user is None or not user.is_authenticated:
        return ANONYMOUS
    cached = getattr(user, "_ancrage_scope", None)
    if cached is not None:
        return cached
    scope = compute_scope(user)
    user._ancrage_scope = scope
    return scope


def compute_scope(user) -> Scope:
    from ancrage.organisations.enums import StructureKind
    from ancrage.organisations.models import Collectivite, Membership, Structure

    # No ordering: Membership.Meta.ordering would join the users' table on every request.
    memberships = list(Membership.objects.active().filter(user=user).order_by())
    roles = frozenset(m.role for m in memberships)
    # Each role reaches what it is a member of (permissions.ROLE_TARGET): its EPN, its partner
    # organisation, its collectivité's territory, its réseau.
    reach: dict[str, set[int]] = {}
    partners, collectivites_by_role, reseaux_by_role = set(), {}, {}
    for m in memberships:
        kind = permissions.ROLE_TARGET[Role(m.role)]
        if kind == Target.EPN:
            reach.setdefault(m.role, set()).add(m.structure_id)
        elif kind == Target.PARTENAIRE:
            partners.add(m.structure_id)
        elif kind == Target.COLLECTIVITE:
            collectivites_by_role.setdefault(m.role, set()).add(m.collectivite_id)
        else:
            reseaux_by_role.setdefault(m.role, set()).add(m.reseau_id)
    staff = set().union(*(reach.get(role, ()) for role in permissions.EPN_TEAM))
    collectivite_ids = set().union(*collectivites_by_role.values())
    reseau_ids = set().union(*reseaux_by_role.values())

    epns = Structure.objects.filter(kind=StructureKind.EPN)
    for role, ids in reseaux_by_role.items():
        reach[role] = set(epns.filter(reseau_id__in=ids).values_list("id", flat=True))
    if collectivite_ids:
        territory = territory_epn_ids(collectivite_ids)
        for role, ids in collectivites_by_role.items():
            reach[role] = set().union(*(territory[pk] for pk in ids))
    epn_ids = set().union(*reach.values())
    if reseau_ids:
        collectivite_ids |= set(
            Collectivite.objects.filter(reseau_id__in=reseau_ids).values_list("id", flat=True)
        )
    return Scope(
        user_id=user.pk,
        is_superuser=user.is_superuser,
        roles=roles,
        epn_ids=frozenset(epn_ids),
        staff_epn_ids=frozenset(staff),
        collectivite_ids=frozenset(collectivite_ids),
        reseau_ids=frozenset(reseau_ids),
        partner_ids=frozenset(partners),
        epn_reach={role: frozenset(ids) for role, ids in reach.items()},
        collectivite_reach={role: frozenset(ids) for role, ids in collectivites_by_role.items()},
    )


def territory_epn_ids(collectivite_ids) -> dict[int, set[int]]:
    """For each collectivité, the EPNs of its territory: those attached to it, and those whose
    commune lies in its communes, in its réseau (an EPCI sees the EPNs of its communes)."""
    from ancrage.organisations.enums import StructureKind
    from ancrage.organisations.models import Collectivite, Structure

    epns = Structure.objects.filter(kind=StructureKind.EPN)
    territory: dict[int, set[int]] = {pk: set() for pk in collectivite_ids}
    for epn_id, collectivite_id in epns.filter(collectivite_id__in=collectivite_ids).values_list(
        "id", "collectivite_id"
    ):
        territory[collectivite_id].add(epn_id)
    for collectivite in Collectivite.objects.filter(id__in=collectivite_ids):
        codes = [c.code for c in collectivite.communes()]
        territory[collectivite.pk] |= set(
            epns.filter(reseau_id=collectivite.reseau_id, code_commune__in=codes).values_list("id", flat=True)
        )
    return territory


def check_may(acting_user, permission: Permission, epn_or_record) -> None:
    """Refuse (``PermissionDenied``, with the module's French reason) unless the user holds
    ``permission`` on the EPN: an EPN's id, or a record of it (with a ``structure_id``).

    This is the write check of every service. ``acting_user=None`` is the system (the demo
    loader, the command line), which may do anything.
    """
    if acting_user is None:
        return
    epn_id = getattr(epn_or_record, "structure_id", epn_or_record)
    if not scope_for(acting_user).may(permission, epn_id):
        raise PermissionDenied(permissions.REFUSALS[permission])


class ScopedQuerySet(models.QuerySet):
    """Querysets of models that declare ``scoping``: ``visible_to`` is how pages read them."""

    def visible_to(self, user_or_scope):
        scope = user_or_scope if isinstance(user_or_scope, Scope) else scope_for(user_or_scope)
        if scope.is_superuser:
            return self.all()
        if scope.is_anonymous:
            return self.none()
        condition = self.model.scoping.condition(scope)
        # A subquery on primary keys: paths through many-to-many relations never duplicate rows,
        # and the result chains like any queryset.
        return self.filter(pk__in=self.model._base_manager.filter(condition).values("pk"))

    def writable_by(self, user_or_scope, permission: Permission):
        """Records of the EPNs where the user holds ``permission`` (e.g. the team's)."""
        scope = user_or_scope if isinstance(user_or_scope, Scope) else scope_for(user_or_scope)
        if scope.is_superuser:
            return self.all()
        paths = _paths(self.model.scoping.epn)
        epn_ids = permissions.epns_with(scope, permission)
        if not paths or not epn_ids:
            return self.none()
        q = Q(pk__in=[])
        for path in paths:
            q |= Q(**{f"{path}__in": epn_ids})
        return self.filter(pk__in=self.model._base_manager.filter(q).values("pk"))
