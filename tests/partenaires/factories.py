"""Directory entries for tests: built through the service, as the pages do."""

from ancrage.organisations.enums import Role
from ancrage.partenaires import services
from tests.organisations.factories import MembershipFactory, StructureFactory


def epn_with_animateur(**structure):
    epn = StructureFactory(**structure)
    membership = MembershipFactory(structure=epn, role=Role.ANIMATEUR)
    return epn, membership.user


def partenaire(epn, nom="Centre social", **fields):
    fields.setdefault("commune", "Rennes")
    return services.partenaire_create(acting_user=None, epn=epn, nom=nom, **fields)
