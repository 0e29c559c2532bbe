"""Records of the suivi for the permission matrix (``tests/security/matrix.py``): one exchange and
one promotion with a partner of the structure's EPN, created once with the services."""

import datetime as dt

from ancrage.suivi import services


def _partner(world, structure):
    return world.fiche_of(structure).structure


def echange_of(world, structure):
    partner = _partner(world, structure)
    return world._once(
        "suivi_echange",
        structure,
        lambda: services.echange_create(
            acting_user=None,
            epn=partner.referencee_par,
            partenaire=partner,
            date=dt.date(2026, 1, 5),
            nature="appel",
            resume="Appel (matrice)",
        ),
    )


def promotion_of(world, structure):
    partner = _partner(world, structure)
    return world._once(
        "suivi_promotion",
        structure,
        lambda: services.promotion_create(
            acting_user=None,
            epn=partner.referencee_par,
            partenaire=partner,
            date=dt.date(2026, 1, 5),
            sens="epn",
            description="Affiche (matrice)",
        ),
    )
