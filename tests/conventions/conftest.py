import datetime as dt
from decimal import Decimal

import pytest

from ancrage.conventions.content import (
    BudgetLine,
    Commitment,
    ConventionContent,
    Duration,
    FinancialTerms,
    Party,
    PartyKind,
    Premises,
    Representative,
    SchoolDetails,
    Signatory,
    TaskAssignment,
    TaskRole,
    commitments_from_tasks,
)


def make_content(**overrides) -> ConventionContent:
    parties = (
        Party(
            key="epn",
            name="Espace numérique des Glycines",
            kind=PartyKind.EPN,
            designation="l'EPN",
            legal_form="service municipal de la commune de Villeurbanne",
            address="12 rue des Glycines, 69100 Villeurbanne",
            representative=Representative("Mme Claire Dubois", "Responsable de l'EPN"),
        ),
        Party(
            key="commune",
            name="Commune de Villeurbanne",
            kind=PartyKind.COLLECTIVITE,
            designation="la Commune",
            legal_form="collectivité territoriale",
            address="place Lazare-Goujon, 69100 Villeurbanne",
            siret="21690266800013",
            representative=Representative(
                "M. Jean Martin", "Adjoint au maire délégué au numérique", "dûment habilité par arrêté"
            ),
        ),
        Party(
            key="asso",
            name="Association Lire et Écrire Ensemble",
            kind=PartyKind.PARTENAIRE,
            designation="l'Association",
            legal_form="association régie par la loi du 1er juillet 1901",
            address="4 avenue Salengro, 69100 Villeurbanne",
            representative=Representative("Mme Fatou Diallo", "Présidente"),
        ),
    )
    tasks = commitments_from_tasks(
        [
            TaskAssignment("animation", "epn", TaskRole.PILOTE, "douze ateliers de deux heures"),
            TaskAssignment("mobilisation", "asso", TaskRole.PILOTE, "orienter les apprenants vers l'EPN"),
            TaskAssignment("communication", "commune", TaskRole.CONTRIBUTEUR),
            TaskAssignment("evaluation", "epn", TaskRole.CONTRIBUTEUR),
        ]
    )
    values = dict(
        title="Convention de partenariat « Ateliers numériques et illettrisme »",
        reference="CONV-2025-007",
        parties=parties,
        action_title="Ateliers numériques et lutte contre l'illettrisme",
        purpose=(
            "L'action vise à accompagner les adultes en situation d'illettrisme "
            "dans leurs démarches en ligne."
        ),
        objectives=("accueillir 40 nouveaux usagers", "Réaliser 12 ateliers"),
        target_publics=("adultes en situation d'illettrisme du quartier Saint-Jean",),
        duration=Duration(start_date=dt.date(2025, 9, 1), months=12, tacit_renewal=True, max_renewals=2),
        commitments=tasks + (Commitment("asso", "mettre à disposition deux bénévoles formés"),),
        finances=FinancialTerms(
            lines=(
                BudgetLine("Animation (médiateur, 24 h)", Decimal("960")),
                BudgetLine("Supports pédagogiques", Decimal("240.50")),
                BudgetLine("Participation de la Commune", Decimal("800"), True, "commune"),
                BudgetLine("Bénévolat valorisé", Decimal("400.50"), True, "asso", in_kind=True),
            ),
            payment_terms="La participation de la Commune est versée en une fois, à la signature.",
        ),
        evaluation_indicators=("nombre de participants", "Part des participants venus par l'Association"),
        signatories=(
            Signatory("epn", "Mme Claire Dubois", "Responsable de l'EPN"),
            Signatory("asso", "Mme Fatou Diallo", "Présidente"),
            Signatory("commune", "M. Jean Martin", "Adjoint au maire"),
        ),
        place_of_signature="Villeurbanne",
        jurisdiction="le tribunal administratif de Lyon",
        premises=Premises(
            place="12 rue des Glycines, salle multimédia",
            equipment=("dix postes informatiques", "un vidéoprojecteur"),
            schedule="le mardi de 14 h à 16 h",
        ),
        school=SchoolDetails(
            classes="deux classes de CM2 de l'école Jules-Ferry", schedule="un jeudi sur deux"
        ),
    )
    values.update(overrides)
    return ConventionContent(**values)


@pytest.fixture
def content() -> ConventionContent:
    return make_content()


@pytest.fixture
def media(settings, tmp_path):
    """Generated documents go to a temporary MEDIA_ROOT, never to the developer's var/."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def world(db, media):
    from tests.conventions.world import build_world

    return build_world()


@pytest.fixture
def committed_db(postgres_only, committed_db, media):
    """Committed data, for tests where several connections must see the same rows (PostgreSQL)."""
    return committed_db
