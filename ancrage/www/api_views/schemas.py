"""What the API returns, as pydantic schemas: the OpenAPI schema is generated from them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict, create_model

from ancrage.partenaires.standard.schema import FIELD_TITLES, FIELDS

#: The largest id a path or a filter takes (a BigAutoField): beyond, the database would overflow.
MAX_ID = 2**63 - 1
MAX_LIMIT = 200
DEFAULT_LIMIT = 50
MAX_OFFSET = 10**9


class Erreur(Schema):
    detail: str = Field(description="Ce qui ne va pas, en français.")
    erreurs: list[ErreurChamp] = Field(default_factory=list, description="Les paramètres refusés.")


class ErreurChamp(Schema):
    champ: str
    message: str


Erreur.model_rebuild()


class Pagination(Schema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Nombre d’éléments (200 au plus).")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Éléments à sauter depuis le début.")


class FiltreEpn(Pagination):
    epn: int | None = Field(None, ge=1, le=MAX_ID, description="Seulement ceux de cet EPN.")


def _standard_field(name: str):
    kind = float if name in ("latitude", "longitude") else str
    return (kind | None, Field(None, description=FIELD_TITLES.get(name, name)))


#: A place in the national standard's JSON (the Cartographie nationale's shape): its 32 keys,
#: empty values left out, multi-valued ones joined by « | », as ``annuaire-exporter`` writes them.
LieuStandard = create_model(
    "LieuStandard",
    __config__=ConfigDict(extra="forbid"),
    **{name: _standard_field(name) for name in FIELDS},
)


class Lieu(Schema):
    id: int = Field(description="Identifiant dans Ancrage.")
    epn: int = Field(description="L’EPN dont c’est le lieu.")
    standard: LieuStandard  # type: ignore[valid-type]


class Partenaire(Schema):
    id: int = Field(description="Identifiant de la fiche dans Ancrage.")
    organisation: int = Field(description="Identifiant de l’organisation partenaire.")
    epn: int = Field(description="L’EPN dont c’est l’annuaire.")
    standard: LieuStandard  # type: ignore[valid-type]


class PageLieux(Schema):
    count: int
    limit: int
    offset: int
    items: list[Lieu]


class PagePartenaires(Schema):
    count: int
    limit: int
    offset: int
    items: list[Partenaire]


class Diagnostic(Schema):
    id: int
    epn: int
    titre: str
    niveau: str
    unite: str
    periode_debut: dt.date | None
    periode_fin: dt.date | None
    calcule_le: dt.datetime
    resultat_url: str = Field(description="Le JSON du diagnostic, celui de `ancrage diagnostic --json`.")


class PageDiagnostics(Schema):
    count: int
    limit: int
    offset: int
    items: list[Diagnostic]


class Action(Schema):
    id: int
    epn: int
    titre: str
    thematique: str
    services: list[str]
    type: str
    statut: str
    statut_libelle: str
    publics: list[str]
    secteurs: list[str]
    lieu: str
    partenaires: list[int] = Field(description="Identifiants des organisations partenaires.")
    creee_le: dt.datetime
    modifiee_le: dt.datetime


class PageActions(Schema):
    count: int
    limit: int
    offset: int
    items: list[Action]


class Seance(Schema):
    id: int
    action: int
    titre: str
    debut: dt.datetime
    fin: dt.datetime
    lieu: str


class PageSeances(Schema):
    count: int
    limit: int
    offset: int
    items: list[Seance]


class Convention(Schema):
    id: int
    epn: int
    action: int | None = Field(description="L’action, si le jeton la voit aussi.")
    collectivite: int | None
    partenaires: list[int]
    titre: str
    reference: str
    modele: str
    objet: str
    date_debut: dt.date
    date_fin: dt.date
    duree_mois: int
    reconduction_tacite: bool
    etat: str = Field(description="L’état à ce jour : en_vigueur et expiree suivent des dates.")
    etat_libelle: str
    avenant_de: int | None
    numero_avenant: int | None
    signee_le: dt.datetime | None
    pdf_signe_sha256: str
    pdf_signe_url: str | None = Field(description="Le PDF signé et scellé, s’il existe.")


class PageConventions(Schema):
    count: int
    limit: int
    offset: int
    items: list[Convention]


class Traitement(Schema):
    sequence: int
    operation: str
    operation_libelle: str
    etat_avant: str
    etat_apres: str
    role: str
    le: dt.datetime
    motivation: str
    motif_correction: str
    message: str


class Dossier(Schema):
    id: int
    numero: str
    epn: int
    action: int
    titre: str
    etat: str
    etat_libelle: str
    thematique: str
    depose_le: dt.datetime | None
    decide_le: dt.datetime | None
    cree_le: dt.datetime
    modifie_le: dt.datetime


class DossierDetail(Dossier):
    historique: list[Traitement] = Field(description="Chaque changement d’état, du premier au dernier.")


class PageDossiers(Schema):
    count: int
    limit: int
    offset: int
    items: list[Dossier]


class Moi(Schema):
    utilisateur: int
    jeton: str = Field(description="Le nom du jeton utilisé.")
    roles: list[str]
    epns: list[int] = Field(description="Les EPN dont le jeton lit les données.")
    organisations_partenaires: list[int]
    collectivites: list[int]
    reseaux: list[int]


ResultatDiagnostic = dict[str, Any]


# --- Network indicators (the coordinator's dashboard, ancrage.reseau) ----------------------------


class FiltreReseau(Schema):
    collectivite: int | None = Field(
        None, ge=1, le=MAX_ID, description="Seulement les EPN de cette collectivité."
    )
    debut: dt.date | None = Field(None, description="Début de la période des séances (inclus).")
    fin: dt.date | None = Field(None, description="Fin de la période des séances (incluse).")


class Figures(Schema):
    actions: int
    actions_menees: int
    seances: int
    presences: int
    participants: int
    nouveaux_publics: int
    partenariats: int
    partenaires_nouveaux_publics: int
    partenariats_a_risque: int
    partenariats_a_surveiller: int
    partenariats_sans_convention: int
    conventions_echeance: int
    dossiers: dict[str, int] = Field(description="Dossiers déposés, par état.")


class Echeance(Schema):
    convention_id: int
    titre: str
    fin: dt.date
    jours_restants: int
    message: str


class Portee(Schema):
    diagnostic_id: int
    diagnostic: str
    usagers: int
    population: float
    attendus: float | None
    ratio: float | None
    ratio_ic95: list[float] | None = Field(description="Intervalle de confiance à 95 % du ratio.")
    qvalue: float | None
    sous_frequente: bool


class IndicateursEpn(Schema):
    epn_id: int
    nom: str
    collectivite: str
    figures: Figures
    echeances: list[Echeance]
    portee: Portee | None


class IndicateursReseau(Schema):
    debut: dt.date | None
    fin: dt.date | None
    au: dt.date = Field(description="Le jour de la situation (partenariats, conventions, dossiers).")
    collectivite: str
    epns: list[IndicateursEpn]
    total: Figures
