"""Demo of the dossiers de projet, built from the demo actions, in several states:

- the seniors' workshops of the Blosne: a first cycle accepted by the référente (with its whole
  history), and a second cycle still a brouillon, balanced and ready to be deposited in the
  browser (the walk-through of the README);
- the Blosne's employment day: en instruction, after a correction asked and answered;
- Vitré's café numérique: a brouillon of the Vitré EPN, which Rennes Métropole does not see.

Idempotent: dossiers are looked up by title. Transitions go through the services, so the
histories are chained like real ones; no e-mail is sent.
"""

from ancrage.actions.models import Action
from ancrage.demo.actions import EMPLOI, SENIORS, VITRE
from ancrage.dossiers import services
from ancrage.dossiers.models import Dossier

SENIORS_1 = "Ateliers seniors du Blosne — premier cycle (démo)"
SENIORS_2 = "Ateliers seniors du Blosne — deuxième cycle (démo)"
EMPLOI_DOSSIER = "Journée « Mon emploi en ligne » (démo)"
VITRE_DOSSIER = "Café numérique de Vitré (démo)"

TY_BLOSNE = "Centre social Ty-Blosne (démo)"
CCAS = "CCAS de Rennes (démo)"


def _seniors_budget() -> dict:
    return {
        "charges": [
            {
                "categorie": "64",
                "libelle": "Animation : 8 ateliers de 2 h, préparation comprise",
                "montant": "3200",
            },
            {"categorie": "60", "libelle": "Tablettes de prêt et petit matériel", "montant": "1200"},
            {"categorie": "62", "libelle": "Impression des affiches et flyers", "montant": "300"},
            {"categorie": "861", "libelle": "Salle du centre social mise à disposition", "montant": "800"},
        ],
        "ressources": [
            {
                "categorie": "74",
                "libelle": "Subvention Rennes Métropole (inclusion numérique)",
                "montant": "2500",
                "contributeur": "Rennes Métropole",
                "type_contributeur": "financeur",
            },
            {
                "categorie": "74",
                "libelle": "Conférence des financeurs de la prévention de la perte d’autonomie",
                "montant": "1200",
                "contributeur": "Département d’Ille-et-Vilaine",
                "type_contributeur": "financeur",
            },
            {
                "categorie": "74",
                "libelle": "Participation du CCAS",
                "montant": "500",
                "contributeur": CCAS,
                "type_contributeur": "partenaire",
            },
            {
                "categorie": "fp",
                "libelle": "Fonds propres de l’EPN",
                "montant": "500",
                "contributeur": "EPN du Blosne (démo)",
                "type_contributeur": "porteur",
            },
            {
                "categorie": "871",
                "libelle": "Mise à disposition de la salle",
                "montant": "800",
                "contributeur": TY_BLOSNE,
                "type_contributeur": "partenaire",
            },
        ],
    }


def _emploi_budget() -> dict:
    return {
        "charges": [
            {"categorie": "64", "libelle": "Deux médiateurs sur une journée", "montant": "900"},
            {"categorie": "60", "libelle": "Clés USB et impressions des CV", "montant": "150"},
            {"categorie": "62", "libelle": "Communication", "montant": "100"},
            {"categorie": "864", "libelle": "Bénévoles de la médiathèque", "montant": "200"},
        ],
        "ressources": [
            {
                "categorie": "74",
                "libelle": "Subvention Rennes Métropole",
                "montant": "700",
                "contributeur": "Rennes Métropole",
                "type_contributeur": "financeur",
            },
            {
                "categorie": "fp",
                "libelle": "Fonds propres de l’EPN",
                "montant": "450",
                "contributeur": "EPN du Blosne (démo)",
                "type_contributeur": "porteur",
            },
            {
                "categorie": "870",
                "libelle": "Bénévolat",
                "montant": "200",
                "contributeur": "Médiathèque de Cesson-Sévigné (démo)",
                "type_contributeur": "partenaire",
            },
        ],
    }


def _dossier(action: Action, user, titre: str, budget: dict | None, **fields) -> Dossier:
    dossier = services.dossier_create(acting_user=user, action=action, titre=titre)
    if fields:
        services.dossier_update(acting_user=user, dossier=dossier, **fields)
    if budget:
        services.dossier_set_budget(acting_user=user, dossier=dossier, **budget)
    return dossier


def _do(dossier: Dossier, user, action: str, **fields) -> Dossier:
    return services.dossier_transition(
        acting_user=user, dossier=dossier, action=action, expected_state=dossier.etat, notify=False, **fields
    )


def load(world) -> None:
    existing = set(
        Dossier.objects.filter(titre__in=[SENIORS_1, SENIORS_2, EMPLOI_DOSSIER, VITRE_DOSSIER]).values_list(
            "titre", flat=True
        )
    )
    actions = {a.titre: a for a in Action.objects.filter(titre__in=[SENIORS, EMPLOI, VITRE])}
    animateur, referent = world.users["animateur"], world.users["referent"]
    seniors, emploi, vitre = actions.get(SENIORS), actions.get(EMPLOI), actions.get(VITRE)

    if seniors and SENIORS_1 not in existing:
        dossier = _dossier(
            seniors,
            animateur,
            SENIORS_1,
            _seniors_budget(),
            calendrier="Octobre à décembre 2026 : huit ateliers le mardi après-midi (démo).",
        )
        dossier = _do(dossier, animateur, "deposer")
        dossier = _do(dossier, referent, "passer_en_instruction")
        _do(
            dossier,
            referent,
            "accepter",
            motivation=(
                "Le projet répond à la priorité « seniors et autonomie » de la collectivité et vise un "
                "secteur peu fréquenté. Le partenariat avec le centre social et le CCAS est solide ; "
                "subvention accordée : 2 500 € (démo)."
            ),
        )
    if seniors and SENIORS_2 not in existing:
        _dossier(
            seniors,
            animateur,
            SENIORS_2,
            _seniors_budget(),
            calendrier="Janvier à mars 2027 : huit nouveaux ateliers (démo).",
        )
    if emploi and EMPLOI_DOSSIER not in existing:
        dossier = _dossier(emploi, animateur, EMPLOI_DOSSIER, _emploi_budget())
        dossier = _do(dossier, animateur, "deposer")
        dossier = _do(
            dossier,
            referent,
            "demander_correction",
            correction_reason="incomplet",
            message=(
                "Merci de joindre le calendrier de la journée et de préciser qui oriente les jeunes : "
                "la Mission locale est partenaire mais n’apparaît pas dans la mobilisation (démo)."
            ),
        )
        services.dossier_update(
            acting_user=animateur,
            dossier=dossier,
            calendrier="Vendredi 20 novembre 2026, 9 h – 17 h, à l’EPN du Blosne (démo).",
        )
        dossier = _do(
            dossier,
            animateur,
            "redeposer",
            message="Calendrier ajouté ; la Mission locale oriente les jeunes qu’elle suit (démo).",
        )
        _do(dossier, referent, "passer_en_instruction")
    if vitre and VITRE_DOSSIER not in existing:
        _dossier(vitre, world.users["animateur2"], VITRE_DOSSIER, None)
