"""Directory entries for tests: built through the service, as the pages do."""

from ancrage.organisations.enums import Role
from ancrage.partenaires import services
from tests.organisations.factories import CollectiviteFactory, MembershipFactory, StructureFactory


def epn_with_animateur(**structure):
    epn = StructureFactory(**structure)
    membership = MembershipFactory(structure=epn, role=Role.ANIMATEUR)
    return epn, membership.user


def partenaire(epn, nom="Centre social", **fields):
    fields.setdefault("commune", "Rennes")
    return services.partenaire_create(acting_user=None, epn=epn, nom=nom, **fields)


def epn_with_two_partners():
    """An EPN of a collectivité, its animateur, and two directory partners: a Mission locale
    (youth, insertion, mobilisation) and a centre social (seniors, one IRIS of the Blosne)."""
    collectivite = CollectiviteFactory()
    epn, animateur = epn_with_animateur(reseau=collectivite.reseau, collectivite=collectivite)
    ml = partenaire(
        epn,
        "Mission locale",
        familles=["insertion et emploi"],
        publics_touches=["age:15-29"],
        savoir_faire=["mobilisation"],
    )
    cs = partenaire(
        epn,
        "Centre social",
        familles=["seniors et autonomie"],
        publics_touches=["age:60-74"],
        secteurs=["352381102"],
    )
    return epn, animateur, ml, cs
