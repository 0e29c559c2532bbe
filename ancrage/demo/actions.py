"""Demo of the partner directory and of the actions: two actions of the EPN du Blosne with
several partners, and one of Vitré.

The partners' directory entries, the actions, their task matrices (one breaks the seed's rule,
to show the warnings), sessions and preliminary meetings are made up and say "(démo)". When the
diagnostic demo has saved a diagnostic of the Blosne, the first action is built from its first
target and the partners cover its under-attended sectors, so the recommendation has something
to show; otherwise the Blosne's partners cover communes.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ancrage.actions import services as actions
from ancrage.actions.models import Action
from ancrage.actions.tasks import Task
from ancrage.diagnostic.models import Diagnostic
from ancrage.partenaires import services as partenaires
from ancrage.partenaires.models import Partenaire
from ancrage.partenaires.publics import public_key, reaches

PARIS = ZoneInfo("Europe/Paris")
SENIORS = "Ateliers « Bien vivre le numérique » pour les seniors du Blosne (démo)"
EMPLOI = "Premiers pas numériques vers l’emploi (démo)"
VITRE = "Café numérique de Vitré (démo)"

TY_BLOSNE = "Centre social Ty-Blosne (démo)"
CCAS = "CCAS de Rennes (démo)"
MISSION_LOCALE = "Mission locale du bassin rennais (démo)"
MEDIATHEQUE = "Médiathèque de Cesson-Sévigné (démo)"
VITRE_ENTRAIDE = "Association Vitré Entraide (démo)"

ENTRIES = {
    TY_BLOSNE: {
        "typologies": ["CS"],
        "adresse": "1 rue de Suède (démo)",
        "latitude": 48.0876,
        "longitude": -1.6637,
        "code_postal": "35200",
        "commune": "Rennes",
        "code_insee": "35238",
        "familles": ["politique de la ville", "seniors et autonomie", "enfance, jeunesse et scolarité"],
        "services": ["Aide aux démarches administratives", "Parentalité et éducation avec le numérique"],
        "publics_touches": ["age:60-74", "age:75+", "age:0-14", "activite:autre_inactif", "sexe:F"],
        "savoir_faire": [Task.MOBILISATION.value, Task.ANIMATION.value],
        "notes": "Partenaire historique du quartier ; mobilise les habitants des tours (démo).",
    },
    CCAS: {
        "typologies": ["CCAS"],
        "adresse": "Hôtel de ville (démo)",
        "latitude": 48.1114,
        "longitude": -1.6797,
        "code_postal": "35000",
        "commune": "Rennes",
        "code_insee": "35238",
        "familles": ["seniors et autonomie", "démarches administratives"],
        "services": ["Aide aux démarches administratives"],
        "publics_touches": ["age:75+", "age:60-74", "csp:CS7"],
        "savoir_faire": [Task.FINANCEMENT.value, Task.MOBILISATION.value],
    },
    MISSION_LOCALE: {
        "typologies": ["ML"],
        "adresse": "6 cours des Alliés (démo)",
        "latitude": 48.1046,
        "longitude": -1.6738,
        "code_postal": "35000",
        "commune": "Rennes",
        "code_insee": "35238",
        "familles": ["insertion et emploi"],
        "services": ["Insertion professionnelle via le numérique"],
        "publics_touches": ["age:15-29", "activite:chomeur"],
        "savoir_faire": [Task.MOBILISATION.value, Task.SUIVI.value],
    },
    MEDIATHEQUE: {
        "typologies": ["BIB"],
        "adresse": "Place de l’Église (démo)",
        "latitude": 48.1213,
        "longitude": -1.603,
        "code_postal": "35510",
        "commune": "Cesson-Sévigné",
        "code_insee": "35051",
        "familles": ["enfance, jeunesse et scolarité", "insertion et emploi"],
        "services": ["Loisirs et créations numériques", "Accès internet et matériel informatique"],
        "publics_touches": ["age:15-29", "age:30-44", "activite:etudiant"],
        "savoir_faire": [Task.LOGISTIQUE.value, Task.COMMUNICATION.value],
        "secteurs": ["35051"],
    },
    VITRE_ENTRAIDE: {
        "typologies": ["ASSO"],
        "adresse": "Rue de la Poterie (démo)",
        "latitude": 48.1236,
        "longitude": -1.209,
        "code_postal": "35500",
        "commune": "Vitré",
        "code_insee": "35360",
        "familles": ["démarches administratives", "seniors et autonomie"],
        "services": ["Aide aux démarches administratives"],
        "publics_touches": ["age:60-74", "age:75+"],
        "secteurs": ["35360"],
        "savoir_faire": [Task.MOBILISATION.value],
    },
}


def _at(day: int, hour: int, month: int = 10, minutes: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minutes, tzinfo=PARIS)


def _entries(world, low_sectors: list[str]) -> None:
    # Ty-Blosne and the CCAS work where the EPN is little attended; the Mission locale in one of them.
    coverage = {
        TY_BLOSNE: low_sectors[:2] or ["35238"],
        CCAS: ["35238"],
        MISSION_LOCALE: low_sectors[2:3] or ["35238"],
    }
    for nom, fields in ENTRIES.items():
        structure = world.partners[nom]
        if Partenaire.objects.filter(structure=structure).exists():
            continue
        fields = dict(fields)
        fields.setdefault("secteurs", coverage.get(nom, []))
        partenaires.partenaire_fiche_create(acting_user=None, structure=structure, **fields)


def _matrix(action: Action, rows: dict[Task, tuple[str, set[str]]]) -> None:
    actions.matrice_update(
        acting_user=None, action=action, rows={task.value: value for task, value in rows.items()}
    )


def _party(world, nom: str) -> str:
    return f"partenaire-{world.partners[nom].pk}"


def _seniors(world, diagnostic: Diagnostic | None) -> Action:
    fields = {}
    # The diagnostic's first target about older people, if it found one.
    cible = next(
        (
            c
            for c in (diagnostic.cibles if diagnostic else [])
            if reaches(["age:60-74", "age:75+"], public_key(c.get("dimension"), c.get("categorie")))
        ),
        None,
    )
    if cible is not None:
        fields = actions.prefill_from_cible(diagnostic, cible["rang"])
        fields.pop("titre")
    fields.update(
        thematique="seniors et autonomie",
        services=["Maîtrise des outils numériques du quotidien", "Aide aux démarches administratives"],
        publics=["age:60-74", "age:75+"],
        type="durable",
        contenu=(
            "Huit ateliers en petits groupes pour prendre en main smartphone et tablette, faire ses "
            "démarches en ligne et échanger avec ses proches. Les participants sont orientés par le "
            "centre social et le CCAS (démo)."
        ),
        lieu="EPN du Blosne (démo)",
    )
    action = actions.action_create(acting_user=None, epn=world.blosne, titre=SENIORS, **fields)
    ty_blosne, ccas = _party(world, TY_BLOSNE), _party(world, CCAS)
    actions.action_partenaire_add(
        acting_user=None, action=action, partenaire=world.partners[TY_BLOSNE], role="Mobilise les habitants"
    )
    actions.action_partenaire_add(
        acting_user=None, action=action, partenaire=world.partners[CCAS], role="Oriente et cofinance"
    )
    secteur = action.secteurs[0] if action.secteurs else ""
    for libelle, valeur, public, sect in (
        ("participants", 40, "", ""),
        ("dont personnes de 60 ans et plus", 25, "age:60-74", ""),
        ("dont habitants du secteur visé", 15, "", action.secteurs_labels[0] if secteur else "Le Blosne"),
    ):
        actions.objectif_add(
            acting_user=None,
            action=action,
            libelle=libelle,
            valeur_cible=valeur,
            critere_public=public,
            critere_secteur=sect,
        )
    for week in range(4):
        start = _at(6, 14) + timedelta(weeks=week)
        actions.seance_add(
            acting_user=None,
            action=action,
            titre=f"Atelier {week + 1}",
            debut=start,
            fin=start + timedelta(hours=2),
            lieu="EPN du Blosne (démo)",
        )
    _matrix(
        action,
        {
            Task.PILOTAGE: ("epn", {"collectivite", ty_blosne}),
            Task.SUIVI: ("epn", {ccas}),
            Task.COMMUNICATION: (ccas, {"epn", ty_blosne}),
            Task.EVALUATION: ("epn", {ty_blosne, ccas}),
            Task.MOBILISATION: (ty_blosne, {ccas}),
            Task.ANIMATION: ("epn", {ty_blosne}),
            Task.LOGISTIQUE: ("epn", set()),
            Task.FINANCEMENT: (ccas, {"collectivite"}),
        },
    )
    actions.action_transition(acting_user=None, action=action, vers="en_construction")
    reunion = actions.reunion_create(
        acting_user=None,
        action=action,
        titre="Lancement des ateliers seniors (démo)",
        debut=_at(15, 10, month=9),
        fin=_at(15, 12, month=9),
        lieu="Centre social Ty-Blosne (démo)",
        participants=(
            "Camille Le Goff (EPN du Blosne)\nNadia Benali (Centre social Ty-Blosne)\nCCAS de Rennes (démo)"
        ),
        ordre_du_jour="1. Publics visés et objectifs\n2. Qui fait quoi\n3. Calendrier",
        compte_rendu=(
            "Les partenaires valident les objectifs et le calendrier des quatre premiers ateliers (démo)."
        ),
    )
    actions.decision_add(
        acting_user=None,
        reunion=reunion,
        texte="Le centre social mobilise les habitants par ses permanences et son café des familles.",
        tache=Task.MOBILISATION.value,
        partie=ty_blosne,
    )
    actions.decision_add(
        acting_user=None, reunion=reunion, texte="Un bilan commun est fait après le quatrième atelier."
    )
    actions.commentaire_add(
        acting_user=world.users["partenaire"],
        action=action,
        texte="Nous pouvons prêter la salle du rez-de-chaussée pour le premier atelier (démo).",
    )
    return action


def _emploi(world) -> Action:
    action = actions.action_create(
        acting_user=None,
        epn=world.blosne,
        titre=EMPLOI,
        thematique="insertion et emploi",
        services=["Insertion professionnelle via le numérique"],
        type="ponctuelle",
        publics=["age:15-29", "activite:chomeur"],
        contenu="Une journée pour créer son espace France Travail, son CV en ligne et sa messagerie (démo).",
        lieu="EPN du Blosne (démo)",
    )
    mission, mediatheque = _party(world, MISSION_LOCALE), _party(world, MEDIATHEQUE)
    actions.action_partenaire_add(
        acting_user=None, action=action, partenaire=world.partners[MISSION_LOCALE], role="Oriente les jeunes"
    )
    actions.action_partenaire_add(
        acting_user=None, action=action, partenaire=world.partners[MEDIATHEQUE], role="Relaie l’information"
    )
    actions.objectif_add(acting_user=None, action=action, libelle="participants", valeur_cible=20)
    actions.objectif_add(
        acting_user=None,
        action=action,
        libelle="dont demandeurs d’emploi",
        valeur_cible=12,
        critere_public="activite:chomeur",
    )
    actions.seance_add(
        acting_user=None,
        action=action,
        titre="Journée « Mon emploi en ligne »",
        debut=_at(20, 9, month=11),
        fin=_at(20, 17, month=11),
    )
    # Deliberately off the seed's rule: the EPN mobilises the young people alone although the
    # Mission locale's trade is precisely that, and nobody answers for the funding.
    _matrix(
        action,
        {
            Task.PILOTAGE: ("epn", {mission}),
            Task.SUIVI: ("epn", set()),
            Task.COMMUNICATION: ("epn", {mediatheque}),
            Task.EVALUATION: ("epn", {mission}),
            Task.MOBILISATION: ("epn", set()),
            Task.ANIMATION: ("epn", set()),
            Task.LOGISTIQUE: (mediatheque, {"epn"}),
            Task.FINANCEMENT: ("", set()),
        },
    )
    reunion = actions.reunion_create(
        acting_user=None,
        action=action,
        titre="Préparation de la journée emploi (démo)",
        debut=_at(2, 14, month=10),
        fin=_at(2, 16, month=10),
        lieu="Mission locale du bassin rennais (démo)",
        participants="Camille Le Goff (EPN du Blosne)\nConseillère de la Mission locale (démo)",
        ordre_du_jour="Orientation des jeunes, supports de communication.",
    )
    actions.decision_add(
        acting_user=None,
        reunion=reunion,
        texte="La médiathèque affiche l’événement et le relaie sur ses réseaux.",
        tache=Task.COMMUNICATION.value,
        partie=mediatheque,
    )
    return action


def _vitre(world) -> Action:
    action = actions.action_create(
        acting_user=None,
        epn=world.vitre_epn,
        titre=VITRE,
        thematique="démarches administratives",
        type="durable",
        publics=["age:60-74", "age:75+"],
        contenu="Un café mensuel pour poser ses questions sur les démarches en ligne (démo).",
    )
    actions.action_partenaire_add(acting_user=None, action=action, partenaire=world.partners[VITRE_ENTRAIDE])
    actions.seance_add(
        acting_user=None, action=action, titre="Café numérique", debut=_at(8, 10), fin=_at(8, 12)
    )
    return action


# The EPN's own place, as the standard describes it: the recommendations measure distances from
# its coordinates (in the Blosne quartier; the address is made up).
LIEU_BLOSNE = {
    "typologies": ["EPN"],
    "adresse": "Square de Zagreb (démo)",
    "code_postal": "35200",
    "commune": "Rennes",
    "code_insee": "35238",
    "latitude": 48.0872,
    "longitude": -1.6606,
    "services": [
        "Maîtrise des outils numériques du quotidien",
        "Aide aux démarches administratives",
        "Insertion professionnelle via le numérique",
    ],
    "publics_specifiquement_adresses": ["Seniors", "Jeunes"],
    "frais_a_charge": ["Gratuit"],
    "modalites_accompagnement": ["Accompagnement individuel", "Dans un atelier collectif"],
    "horaires": "Tu-Sa 10:00-18:00",
    "presentation_resume": "Espace public numérique du quartier du Blosne (démo).",
}


def load(world) -> None:
    diagnostic = Diagnostic.objects.for_structure(world.blosne).latest_first().first()
    _entries(world, diagnostic.secteurs_sous_frequentes if diagnostic else [])
    if partenaires.lieu_epn_of(world.blosne) is None:
        partenaires.lieu_epn_save(acting_user=None, epn=world.blosne, **LIEU_BLOSNE)
    existing = set(Action.objects.filter(titre__in=[SENIORS, EMPLOI, VITRE]).values_list("titre", flat=True))
    if SENIORS not in existing:
        _seniors(world, diagnostic)
    if EMPLOI not in existing:
        _emploi(world)
    if VITRE not in existing:
        _vitre(world)
