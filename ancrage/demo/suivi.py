"""Demo of the suivi: a year of made-up history of the EPN du Blosne with its partners, so that
every panel of the three questions dashboard and of the bilan annuel shows something.

- the sessions of the demo actions get their sheets: people with their birth year, sex, situation
  and IRIS, some of them usagers of the 2024 attendance file, and "orienté par" the centre
  social, the CCAS, the Mission locale or the médiathèque;
- a communication log and reciprocal promotion over the last twelve months (dates relative to the
  day the demo is loaded, as the conventions' are), with one partnership left to fade (the
  Mission locale: no convention, no contact for eight months) and partners without a convention;
- an attendance file of the period after the seniors' workshops, and the diagnostic run again on
  it (before / after), and the evaluation of the workshops.

Everything is made up (deterministic seed) and says "(démo)". Idempotent.
"""

import datetime as dt
import hashlib
import random

from ancrage.actions.models import Action
from ancrage.demo.actions import (
    CCAS,
    EMPLOI,
    MEDIATHEQUE,
    MISSION_LOCALE,
    SENIORS,
    TY_BLOSNE,
    VITRE,
    VITRE_ENTRAIDE,
)
from ancrage.demo.diagnostic import BLOSNE_PREFIX, usagers_csv
from ancrage.frequentation import readers
from ancrage.frequentation import services as frequentation_services
from ancrage.frequentation.models import FrequentationImport, Usager
from ancrage.suivi import selectors, services
from ancrage.suivi.models import AvantApres, Beneficiaire
from ancrage.territoire import services as territoire_services

SEED = 2026
AFTER_FILE = "usagers-apres-ateliers-seniors-demo.csv"
SITUATIONS = ("actif_occupe", "chomeur", "autre_inactif")


def _blosne_iris(world) -> list[str]:
    population = territoire_services.population_of(world.blosne)
    codes = [c for c in population.codes if c.startswith(BLOSNE_PREFIX)] if population else []
    return codes or ["352381101"]


def _row(identifiant, *, birth, sexe, situation, iris, first, partner=None) -> services.SheetRow:
    return services.SheetRow(
        identifiant=identifiant,
        present=True,
        oriente_par=partner,
        annee_naissance=birth,
        sexe=sexe,
        situation=situation,
        code_iris=iris,
        premiere_visite=first,
    )


def _sheets(action, people: list[services.SheetRow], absent_every: int | None = None) -> None:
    """Everyone on every session of the action; with ``absent_every``, one person in that many
    misses one session (never the first: it is how they arrived)."""
    for k, seance in enumerate(action.seances.order_by("debut")):
        rows = []
        for i, row in enumerate(people):
            absent = bool(absent_every) and k > 0 and i % absent_every == k % absent_every
            rows.append(services.SheetRow(**{**row.__dict__, "present": not absent}))
        services.participation_sheet_save(acting_user=None, seance=seance, rows=rows)


def _seniors_people(world, rng, iris: list[str], start: dt.date) -> list[services.SheetRow]:
    ty_blosne, ccas = world.partners[TY_BLOSNE], world.partners[CCAS]
    people = []
    # Twelve newcomers sent by the centre social or the CCAS: the action brought them in.
    for i in range(12):
        partner = ty_blosne if i < 7 else ccas
        people.append(
            _row(
                f"demo-suivi-s{i + 1:02d}",
                birth=rng.randint(1938, 1964),
                sexe="F" if i % 3 else "H",
                situation="retraite",
                iris=rng.choice(iris),
                first=start,
                partner=partner,
            )
        )
    # Six people the EPN already knew (usagers of its 2024 file, first visit long before).
    known = list(
        Usager.objects.filter(dataset__structure=world.blosne, identifiant__startswith="demo-2024-")
        .exclude(annee_naissance=None)
        .filter(annee_naissance__lte=1964)
        .order_by("identifiant")[:6]
    )
    for usager in known:
        people.append(services.SheetRow(identifiant=usager.identifiant, present=True))
    # Two newcomers who came on their own.
    for i in range(2):
        people.append(
            _row(
                f"demo-suivi-s{13 + i:02d}",
                birth=rng.randint(1945, 1960),
                sexe="F",
                situation="retraite",
                iris=rng.choice(iris),
                first=start,
            )
        )
    return people


def _emploi_people(world, rng, iris: list[str], start: dt.date) -> list[services.SheetRow]:
    mission, mediatheque = world.partners[MISSION_LOCALE], world.partners[MEDIATHEQUE]
    people = []
    for i in range(10):
        partner = mission if i < 5 else (mediatheque if i < 7 else None)
        people.append(
            _row(
                f"demo-suivi-e{i + 1:02d}",
                birth=rng.randint(1998, 2007),
                sexe="FH"[i % 2],
                situation="chomeur" if i < 8 else "actif_occupe",
                iris=rng.choice(iris),
                first=start,
                partner=partner,
            )
        )
    return people


def _vitre_people(world, rng, start: dt.date) -> list[services.SheetRow]:
    entraide = world.partners[VITRE_ENTRAIDE]
    return [
        _row(
            f"demo-suivi-v{i + 1:02d}",
            birth=rng.randint(1940, 1960),
            sexe="FH"[i % 2],
            situation="retraite",
            iris="",
            first=start,
            partner=entraide if i < 4 else None,
        )
        for i in range(6)
    ]


# (partner, days ago, nature, people, summary)
ECHANGES = [
    (
        TY_BLOSNE,
        20,
        "reunion",
        "Camille Le Goff, Nadia Benali",
        "Bilan des quatre premiers ateliers seniors (démo).",
    ),
    (TY_BLOSNE, 75, "appel", "Nadia Benali", "Calage des dates des ateliers d’octobre (démo)."),
    (TY_BLOSNE, 160, "courriel", "Nadia Benali", "Envoi du projet de convention de partenariat (démo)."),
    (
        TY_BLOSNE,
        250,
        "evenement",
        "Équipes de l’EPN et du centre social",
        "Fête de quartier du Blosne (démo).",
    ),
    (
        CCAS,
        40,
        "appel",
        "Conseillère du CCAS (démo)",
        "Orientation des seniors isolés vers les ateliers (démo).",
    ),
    (CCAS, 200, "reunion", "Directrice du CCAS (démo)", "Présentation de l’EPN et de ses ateliers (démo)."),
    (
        MISSION_LOCALE,
        240,
        "reunion",
        "Conseillère de la Mission locale (démo)",
        "Idée d’une journée emploi (démo).",
    ),
    (MEDIATHEQUE, 100, "courriel", "Bibliothécaire (démo)", "Affiches de la journée emploi (démo)."),
    (VITRE_ENTRAIDE, 30, "appel", "Président de l’association (démo)", "Programme du café numérique (démo)."),
]
# (partner, days ago, direction, what was done)
PROMOTIONS = [
    (TY_BLOSNE, 30, "epn", "Présentation du centre social sur l’écran d’accueil de l’EPN (démo)."),
    (TY_BLOSNE, 60, "partenaire", "Les ateliers seniors annoncés dans la lettre du centre social (démo)."),
    (CCAS, 90, "epn", "Les permanences du CCAS relayées sur le site de l’EPN (démo)."),
    (MEDIATHEQUE, 15, "partenaire", "La journée emploi affichée à la médiathèque (démo)."),
    (VITRE_ENTRAIDE, 45, "epn", "Dépliant de l’association à l’accueil de l’espace (démo)."),
    (VITRE_ENTRAIDE, 50, "partenaire", "Le café numérique annoncé aux adhérents (démo)."),
]


def _relationship(world, today: dt.date) -> None:
    for nom, days, nature, personnes, resume in ECHANGES:
        partner = world.partners[nom]
        services.echange_create(
            acting_user=None,
            epn=partner.referencee_par,
            partenaire=partner,
            date=today - dt.timedelta(days=days),
            nature=nature,
            personnes=personnes,
            resume=resume,
        )
    for nom, days, sens, description in PROMOTIONS:
        partner = world.partners[nom]
        services.promotion_create(
            acting_user=None,
            epn=partner.referencee_par,
            partenaire=partner,
            date=today - dt.timedelta(days=days),
            sens=sens,
            description=description,
        )
    # The médiathèque is contacted around each event: four months between contacts is enough.
    services.delai_relance_set(
        acting_user=None, epn=world.blosne, partenaire=world.partners[MEDIATHEQUE], jours=120
    )


def _before_after(world, seniors: Action) -> None:
    population = territoire_services.population_of(world.blosne)
    if population is None or AvantApres.objects.filter(action=seniors).exists():
        return
    dataset = FrequentationImport.objects.filter(structure=world.blosne, fichier=AFTER_FILE).first()
    if dataset is None:
        # The seniors came more after the workshops: twice the 2024 rate of older people.
        data = usagers_csv(population, year=2026, seed=SEED, senior_factor=0.6)
        known = territoire_services.known_sector_codes(world.blosne)
        frequentation = readers.read_usagers(data, AFTER_FILE, secteurs_connus=known, current_year=2026)
        dataset = frequentation_services.frequentation_import(
            acting_user=None,
            structure=world.blosne,
            frequentation=frequentation,
            sha256=hashlib.sha256(data).hexdigest(),
            est_demo=True,
        )
    if services.frequentations_after(seniors).filter(pk=dataset.pk).exists():
        services.avant_apres_compute(acting_user=None, action=seniors, frequentation=dataset)


def load(world) -> None:
    if Beneficiaire.objects.filter(structure=world.blosne, identifiant__startswith="demo-suivi-").exists():
        return
    rng = random.Random(SEED)
    iris = _blosne_iris(world)
    actions = {a.titre: a for a in Action.objects.filter(titre__in=[SENIORS, EMPLOI, VITRE])}
    seniors = actions.get(SENIORS)
    if seniors is not None and seniors.seances.exists():
        start = selectors.period_of(seniors.seances.all())[0]
        _sheets(seniors, _seniors_people(world, rng, iris, start), absent_every=5)
        services.evaluation_save(
            acting_user=None,
            action=seniors,
            difficultes=(
                "Les personnes de plus de 75 ans viennent peu sans accompagnement ; deux ateliers "
                "ont coïncidé avec les vacances scolaires (démo)."
            ),
            enseignements=(
                "L’orientation par le centre social et le CCAS fonctionne : la plupart des nouveaux "
                "venus ont été orientés. Prévoir un covoiturage pour les plus âgés (démo)."
            ),
        )
    emploi = actions.get(EMPLOI)
    if emploi is not None and emploi.seances.exists():
        start = selectors.period_of(emploi.seances.all())[0]
        _sheets(emploi, _emploi_people(world, rng, iris, start))
    vitre = actions.get(VITRE)
    if vitre is not None and vitre.seances.exists():
        start = selectors.period_of(vitre.seances.all())[0]
        _sheets(vitre, _vitre_people(world, rng, start))
    _relationship(world, selectors.today())
    if seniors is not None:
        _before_after(world, seniors)
