"""Who may do what: the roles, what each is a member of, and what each may read and write.

Pure module: no Django. It is the one place that names a role for a decision; scoping, services,
workflows and pages ask it (``tests/test_consistency.py`` checks that no other module of
``ancrage`` names a ``Role`` member, and ``tests/organisations/test_permissions.py`` states the
rules as the permission matrix expects them). How to add a permission:
``docs/recipes/role-permission.md``.

Reading follows from membership: a role reads the records of what it is a member of (the team,
its EPN's; a collectivité's people, those of the EPNs of its territory; a coordinateur, those of
its réseau's EPNs; a partner, only the records its organisation is party to). ``scoping`` turns
memberships into a ``Scope`` with, for each role held, the EPNs that role reaches.

Writing is granted per ``Permission``, to roles, and applies to the EPNs each role reaches:
``may(scope, permission, epn_id)`` is true when one of the user's roles granted the permission
reaches that EPN.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping


class Role(enum.StrEnum):
    ANIMATEUR = "animateur"
    RESPONSABLE = "responsable"
    REFERENT = "referent"
    ELU = "elu"
    PARTENAIRE = "partenaire"
    COORDINATEUR = "coordinateur"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.ANIMATEUR: "Animateur·rice",
    Role.RESPONSABLE: "Responsable d’EPN",
    Role.REFERENT: "Référent·e de la collectivité",
    Role.ELU: "Élu·e / signataire",
    Role.PARTENAIRE: "Partenaire",
    Role.COORDINATEUR: "Coordinateur·rice de réseau",
}
# How a sentence names a role ("… revient au référent de la collectivité (votre rôle : …)").
ROLE_PHRASES = {
    Role.ANIMATEUR: "animateur de l'EPN",
    Role.RESPONSABLE: "responsable de l'EPN",
    Role.REFERENT: "référent de la collectivité",
    Role.ELU: "élu de la collectivité",
    Role.PARTENAIRE: "partenaire",
    Role.COORDINATEUR: "coordinateur du réseau",
}
# The model fields' choices (Membership.role, Invitation.role).
ROLE_CHOICES = [(role.value, role.label) for role in Role]

# When a person holds several roles: the order of their sections on the dashboard, and which of
# their roles acts (a responsable who is also animateur of the EPN acts as responsable).
PRECEDENCE = (Role.COORDINATEUR, Role.RESPONSABLE, Role.ANIMATEUR, Role.REFERENT, Role.ELU, Role.PARTENAIRE)


# --- What each role is a member of ----------------------------------------------------------------


class Target(enum.StrEnum):
    """The kind of organisation a membership (or an invitation) points at."""

    EPN = "epn"
    PARTENAIRE = "partenaire"
    COLLECTIVITE = "collectivite"
    RESEAU = "reseau"


ROLE_TARGET = {
    Role.ANIMATEUR: Target.EPN,
    Role.RESPONSABLE: Target.EPN,
    Role.PARTENAIRE: Target.PARTENAIRE,
    Role.REFERENT: Target.COLLECTIVITE,
    Role.ELU: Target.COLLECTIVITE,
    Role.COORDINATEUR: Target.RESEAU,
}
# The foreign key of Membership and Invitation that holds each kind of target.
TARGET_FIELD = {
    Target.EPN: "structure",
    Target.PARTENAIRE: "structure",
    Target.COLLECTIVITE: "collectivite",
    Target.RESEAU: "reseau",
}
TARGET_FIELDS = ("structure", "collectivite", "reseau")


def roles_of(target: Target) -> tuple[Role, ...]:
    """The roles held in an organisation of this kind, in the order of ``Role``."""
    return tuple(role for role, kind in ROLE_TARGET.items() if kind == target)


def target_field(role: Role | str) -> str:
    return TARGET_FIELD[ROLE_TARGET[Role(role)]]


def roles_by_field() -> dict[str, list[Role]]:
    """For each target field, the roles that point at it: what the database constraint checks."""
    return {name: [role for role in ROLE_TARGET if target_field(role) == name] for name in TARGET_FIELDS}


def target_kind(target) -> Target | None:
    """The kind of a Structure, Collectivite or Reseau (None for anything else)."""
    name = getattr(getattr(target, "_meta", None), "model_name", None)
    if name == "structure":
        return Target.PARTENAIRE if target.kind == Target.PARTENAIRE else Target.EPN
    if name in (Target.COLLECTIVITE, Target.RESEAU):
        return Target(name)
    return None


def role_target_error(role: Role | str, target) -> str | None:
    """Why ``role`` cannot be held in ``target`` (in French), or None when it can."""
    role = Role(role)
    if target is None or target_kind(target) != ROLE_TARGET[role]:
        return f"Le rôle « {role.label} » ne s’applique pas à « {target} »."
    return None


# The team of an EPN: its members, who write its records.
EPN_TEAM = roles_of(Target.EPN)
# The people of a collectivité, who read the records of its territory's EPNs.
COLLECTIVITE_PEOPLE = roles_of(Target.COLLECTIVITE)
# The people of a partner organisation, who read what it is party to.
PARTNER_PEOPLE = roles_of(Target.PARTENAIRE)


# --- Writing an EPN's records -----------------------------------------------------------------------


class Permission(enum.StrEnum):
    ACTION_WRITE = "action_write"  # fiches action, their partners, tasks, sessions, meetings
    SUIVI_WRITE = "suivi_write"  # session sheets, evaluations, the relationship log
    CONVENTION_WRITE = "convention_write"  # draft, versions, submit, withdraw, avenant, résiliation
    DOSSIER_WRITE = "dossier_write"  # create, edit, attachments (the EPN's side of a dossier)
    DIAGNOSTIC_WRITE = "diagnostic_write"  # imports, computations, deletions
    ANNUAIRE_WRITE = "annuaire_write"  # the EPN's partner directory
    USAGER_DATA = "usager_data"  # one usager's data: access, portability, erasure (RGPD)


# Which roles hold each permission, in the EPNs they reach.
GRANTS: Mapping[Permission, frozenset[Role]] = {
    Permission.ACTION_WRITE: frozenset(EPN_TEAM),
    Permission.SUIVI_WRITE: frozenset(EPN_TEAM),
    Permission.CONVENTION_WRITE: frozenset(EPN_TEAM),
    Permission.DOSSIER_WRITE: frozenset(EPN_TEAM),
    Permission.DIAGNOSTIC_WRITE: frozenset(EPN_TEAM),
    Permission.ANNUAIRE_WRITE: frozenset(EPN_TEAM),
    Permission.USAGER_DATA: frozenset({Role.RESPONSABLE}),
}

# The refusal each write check raises, in French.
REFUSALS = {
    Permission.ACTION_WRITE: "Seule l’équipe de l’EPN modifie ses actions.",
    Permission.SUIVI_WRITE: "Seule l’équipe de l’EPN tient son suivi.",
    Permission.CONVENTION_WRITE: "Seule l’équipe de l’EPN rédige ses conventions.",
    Permission.DOSSIER_WRITE: "Seule l’équipe de l’EPN modifie son dossier.",
    Permission.DIAGNOSTIC_WRITE: "Seule l’équipe de l’EPN modifie son diagnostic.",
    Permission.ANNUAIRE_WRITE: "Seule l’équipe de l’EPN tient son annuaire.",
    Permission.USAGER_DATA: "Seul·e le ou la responsable de l’EPN accède aux données d’un usager.",
}


def may(scope, permission: Permission, epn_id) -> bool:
    """Whether the scope's user may act with ``permission`` on the records of EPN ``epn_id``."""
    if scope.is_superuser:
        return True
    return any(epn_id in scope.epn_reach.get(role, ()) for role in GRANTS[permission])


def epns_with(scope, permission: Permission) -> frozenset[int]:
    """The EPNs where the scope's user holds ``permission`` (superusers aside: they hold it everywhere)."""
    ids: set[int] = set()
    for role in GRANTS[permission]:
        ids |= scope.epn_reach.get(role, frozenset())
    return frozenset(ids)


def holds_any(roles: Iterable[str], granted: Iterable[Role]) -> bool:
    """Whether one of ``roles`` (the values a scope holds) is among ``granted``."""
    return bool(set(roles) & {role.value for role in granted})


# --- Dossiers -------------------------------------------------------------------------------------

# Who deposits a dossier and answers corrections (the EPN's side), and who instructs, decides,
# reopens and annotates it (the collectivité's side).
DOSSIER_DEPOSITORS = frozenset(EPN_TEAM)
DOSSIER_INSTRUCTORS = frozenset({Role.REFERENT})
# Who reads the collectivité's private annotations on a dossier.
DOSSIER_ANNOTATION_READERS = frozenset(COLLECTIVITE_PEOPLE)


# --- The collectivité's territory --------------------------------------------------------------------

# Who records the collectivité's priorities, which the diagnostics of every EPN attached to it
# cross their gaps with: its référent. The élu reads them (and signs); the EPN's team adds the
# EPN's own priorities beside them (``Permission.DIAGNOSTIC_WRITE``), never in their place.
PRIORITES_COLLECTIVITE_WRITERS = frozenset({Role.REFERENT})
# Who reads the collectivité's territory view (every EPN of it, the sectors none reaches).
TERRITOIRE_READERS = frozenset(COLLECTIVITE_PEOPLE)


def may_collectivite(scope, granted: Iterable[Role], collectivite_id) -> bool:
    """Whether the scope's user holds one of ``granted`` in collectivité ``collectivite_id``
    itself (a coordinateur, who sees the réseau's collectivités, holds no role in them)."""
    if scope.is_superuser:
        return True
    return any(collectivite_id in scope.collectivite_reach.get(role, ()) for role in granted)


# --- Conventions ----------------------------------------------------------------------------------

# The circuit: every party signs. Each partner organisation through a member holding this role,
# the EPN through a responsable, the collectivité through an élu. The document names the first
# member of each as its representative. A signatory may delegate to a person of the same
# organisation (any role held there).
CONVENTION_VISA = Role.PARTENAIRE
CONVENTION_SIGNER_FOR_PARTNER = Role.PARTENAIRE
CONVENTION_SIGNER_FOR_COLLECTIVITE = Role.ELU
CONVENTION_SIGNER_FOR_EPN = Role.RESPONSABLE
# Who has conventions waiting for their decision on the dashboard.
CONVENTION_DECIDERS = frozenset(
    {CONVENTION_SIGNER_FOR_PARTNER, CONVENTION_SIGNER_FOR_COLLECTIVITE, CONVENTION_SIGNER_FOR_EPN}
)


# --- Accounts -------------------------------------------------------------------------------------

# Who invites, and to which kinds of organisation: the responsable, to their EPN and to the
# partner organisations it referenced; the coordinateur, to the structures and collectivités of
# their réseau. One is invited to the roles held in that kind of organisation (``roles_of``).
INVITERS: Mapping[Role, frozenset[Target]] = {
    Role.RESPONSABLE: frozenset({Target.EPN, Target.PARTENAIRE}),
    Role.COORDINATEUR: frozenset({Target.EPN, Target.PARTENAIRE, Target.COLLECTIVITE}),
}
# Who approves a role given by invitation, once the invitee accepted it: the collectivité's people
# (an élu or référent of it) for a collectivité's roles, the partner organisation's members for a
# partner's. The operator (a superuser) approves for any collectivité, and for a partner
# organisation only when it has no member. The team's roles need no approval: whoever invites to
# an EPN (its responsable, the réseau's coordinateur) holds that authority already. Neither the
# inviter nor the invitee ever approves, so that nobody grants themselves a role.
APPROVERS: Mapping[Target, frozenset[Role]] = {
    Target.COLLECTIVITE: frozenset(COLLECTIVITE_PEOPLE),
    Target.PARTENAIRE: frozenset(roles_of(Target.PARTENAIRE)),
}
OPERATOR_APPROVES_ONLY_WITHOUT_MEMBERS = frozenset({Target.PARTENAIRE})


def needs_approval(role: Role | str) -> bool:
    """Whether a role given by invitation waits for an approval before it is held."""
    return ROLE_TARGET[Role(role)] in APPROVERS


def operator_approves(role: Role | str, *, target_has_approver: bool) -> bool:
    """Whether the operator holds the authority to approve ``role`` in its organisation."""
    kind = ROLE_TARGET[Role(role)]
    return kind in APPROVERS and not (kind in OPERATOR_APPROVES_ONLY_WITHOUT_MEMBERS and target_has_approver)


def may_approve(
    role: Role | str,
    *,
    roles_in_target: Iterable[str],
    is_superuser: bool,
    target_has_approver: bool,
    is_inviter: bool,
    is_invitee: bool,
) -> bool:
    """Whether someone may approve ``role`` for an invitee: ``roles_in_target`` are the roles
    they hold in the invitation's organisation itself."""
    kind = ROLE_TARGET[Role(role)]
    if kind not in APPROVERS or is_inviter or is_invitee:
        return False
    if holds_any(roles_in_target, APPROVERS[kind]):
        return True
    return is_superuser and operator_approves(role, target_has_approver=target_has_approver)


def approval_given_by_invitation(
    role: Role | str, *, inviter_is_superuser: bool, target_has_approver: bool
) -> bool:
    """Whether the invitation itself is the approval: the operator invited where they hold the
    authority (there is nobody above them to ask, and they could grant the role anyway)."""
    return not needs_approval(role) or (
        inviter_is_superuser and operator_approves(role, target_has_approver=target_has_approver)
    )


# Who must give a second factor (TOTP) at sign-in: those who decide for a collectivité or a réseau.
SECOND_FACTOR_ROLES = frozenset({Role.REFERENT, Role.ELU, Role.COORDINATEUR})
# Who manages an organisation's calendar feed (its secret address, ``actions.agenda``): the EPN's
# team, who write its actions and sessions (``Permission.ACTION_WRITE``), for their EPN; a
# partner's members, for their own organisation.
AGENDA_MANAGERS = frozenset(GRANTS[Permission.ACTION_WRITE]) | {Role.PARTENAIRE}
# Who reads the activity journal of the EPNs they see.
JOURNAL_READERS = frozenset({Role.RESPONSABLE, Role.COORDINATEUR, Role.REFERENT})
# Who sees, in that journal, the address an entry came from: the EPN's own staff, for their EPN's
# entries (as the convention history shows them to those who write the convention), not those
# who oversee it from a collectivité or a réseau. Everyone sees the address of their own entries.
JOURNAL_IP_READERS = frozenset(JOURNAL_READERS & set(EPN_TEAM))


def journal_ip_epns(scope) -> frozenset[int] | None:
    """The EPNs whose journal entries show their addresses to the scope's user (``None``: all)."""
    if scope.is_superuser:
        return None
    ids: set[int] = set()
    for role in JOURNAL_IP_READERS:
        ids |= scope.epn_reach.get(role, frozenset())
    return frozenset(ids)


# --- The network dashboard -------------------------------------------------------------------------

# Who reads the network dashboard (indicators of every EPN of a réseau, their totals, the network
# bilan): the réseau's coordinateurs, over the EPNs of the réseaux they coordinate. An EPN's team or
# a collectivité's people read their own EPNs' pages; a partner never reads an EPN's indicators.
NETWORK_READERS = frozenset({Role.COORDINATEUR})


def network_epns(scope) -> frozenset[int]:
    """The EPNs the scope's user reads on the network dashboard (through the roles that read it
    only: a coordinateur who is also animateur elsewhere sees their réseau's EPNs, not more)."""
    ids: set[int] = set()
    for role in NETWORK_READERS:
        ids |= scope.epn_reach.get(role, frozenset())
    return frozenset(ids)


# --- Pages ----------------------------------------------------------------------------------------

_EVERYONE = frozenset()  # every signed-in user
_ALL_ROLES = frozenset(Role)
_NOT_PARTNER = _ALL_ROLES - {Role.PARTENAIRE}

# Which roles see each entry of the main menu, by URL name (an empty set: every signed-in user).
# What the page then shows is the scope's: the menu only spares people the pages not for them.
MENU: Mapping[str, frozenset[Role]] = {
    "home:index": _EVERYONE,
    "structures:list": _ALL_ROLES,
    "diagnostic:index": _NOT_PARTNER,
    "territoire:index": TERRITOIRE_READERS,
    "actions:list": _ALL_ROLES,
    "conventions:list": _ALL_ROLES,
    "partenaires:list": _NOT_PARTNER,
    "suivi:index": _NOT_PARTNER,
    "reseau:tableau": NETWORK_READERS,
    "dossiers:inbox": DOSSIER_INSTRUCTORS,
    "dossiers:list": DOSSIER_DEPOSITORS,
    "journal:list": JOURNAL_READERS,
    "accounts:invitations": frozenset(INVITERS),
    "accounts:approvals": frozenset().union(*APPROVERS.values()),
}
