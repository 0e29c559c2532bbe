"""The endpoints of ``/api/v1/``: read-only, each reading through ``visible_to`` as the pages do.

An object outside the token's scope is a 404, as on the pages: guessing ids reveals nothing.
The network indicators (``/api/v1/reseau/indicateurs/``) are added to ``router`` by the network
dashboard's module (see the end of this file).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from ninja import Path, Query, Router
from ninja.errors import HttpError

from ancrage.actions.enums import Statut
from ancrage.actions.models import Action, Seance
from ancrage.conventions import selectors as convention_selectors
from ancrage.conventions.enums import ETAT_LABELS
from ancrage.conventions.models import Convention
from ancrage.diagnostic.engine import diagnostic_json
from ancrage.diagnostic.models import Diagnostic
from ancrage.dossiers.enums import Etat as EtatDossier
from ancrage.dossiers.enums import Operation
from ancrage.dossiers.selectors import dossiers_visible_to
from ancrage.organisations.enums import StructureKind
from ancrage.organisations.models import Collectivite, Structure
from ancrage.organisations.scoping import scope_for
from ancrage.partenaires.models import Partenaire
from ancrage.partenaires.services import lieu_of
from ancrage.partenaires.standard import cartographie_item
from ancrage.reseau import selectors as reseau_selectors
from ancrage.www.api_views import schemas
from ancrage.www.api_views.schemas import MAX_ID, Erreur, FiltreEpn, Pagination

router = Router()

#: What every operation may answer besides its 200 (the schema says so; schemathesis checks it).
ERRORS = {401: Erreur, 404: Erreur, 422: Erreur, 429: Erreur}


def _id(description: str):
    return Path(..., ge=1, le=MAX_ID, description=description)


def _page(queryset, params: Pagination, convert) -> dict:
    """One page of ``queryset`` (ordered by id, so pages never overlap), converted. ``convert``
    converts one object, or (marked by ``per_page``) takes the page's objects and returns the
    function that converts each."""
    queryset = queryset.order_by("id")
    items = list(queryset[params.offset : params.offset + params.limit])
    if getattr(convert, "per_page", False):
        convert = convert(items)
    return {
        "count": queryset.count(),
        "limit": params.limit,
        "offset": params.offset,
        "items": [convert(item) for item in items],
    }


def per_page(converter):
    converter.per_page = True
    return converter


def _by_epn(queryset, params: FiltreEpn, path: str = "structure_id"):
    return queryset.filter(**{path: params.epn}) if params.epn is not None else queryset


# --- Who am I -----------------------------------------------------------------------------------


@router.get(
    "/moi/",
    tags=["Compte"],
    response={200: schemas.Moi, **ERRORS},
    summary="Le jeton et ce qu’il lit",
    url_name="moi",
)
def moi(request):
    scope = scope_for(request.user)
    return {
        "utilisateur": request.user.pk,
        "jeton": request.auth.nom,
        "roles": sorted(scope.roles),
        "epns": sorted(scope.epn_ids),
        "organisations_partenaires": sorted(scope.partner_ids),
        "collectivites": sorted(scope.collectivite_ids),
        "reseaux": sorted(scope.reseau_ids),
    }


# --- Places and partners, in the national standard -----------------------------------------------


def visible_lieux(user):
    """The EPNs' own places, for the EPNs the user reads (a place is the EPN's public card)."""
    epns = Structure.objects.visible_to(user).filter(kind=StructureKind.EPN)
    return Partenaire.objects.filter(structure__in=epns).select_related("structure")


def _lieu(lieu: Partenaire) -> dict:
    return {"id": lieu.pk, "epn": lieu.structure_id, "standard": cartographie_item(lieu_of(lieu))}


def _partenaire(entry: Partenaire) -> dict:
    return {
        "id": entry.pk,
        "organisation": entry.structure_id,
        "epn": entry.structure.referencee_par_id,
        "standard": cartographie_item(lieu_of(entry)),
    }


@router.get(
    "/lieux/",
    tags=["Lieux et partenaires"],
    response={200: schemas.PageLieux, **ERRORS},
    summary="Les lieux des EPN, au standard national",
    exclude_none=True,
)
def lieux(request, params: Query[FiltreEpn]):
    return _page(_by_epn(visible_lieux(request.user), params), params, _lieu)


@router.get(
    "/lieux/{lieu_id}/",
    tags=["Lieux et partenaires"],
    response={200: schemas.Lieu, **ERRORS},
    summary="Un lieu d’EPN, au standard national",
    exclude_none=True,
)
def lieu(request, lieu_id: int = _id("Identifiant du lieu")):
    return _lieu(get_object_or_404(visible_lieux(request.user), pk=lieu_id))


def _partenaires(user):
    return Partenaire.objects.visible_to(user).select_related("structure")


@router.get(
    "/partenaires/",
    tags=["Lieux et partenaires"],
    response={200: schemas.PagePartenaires, **ERRORS},
    summary="Les annuaires des partenaires, au standard national",
    exclude_none=True,
)
def partenaires(request, params: Query[FiltreEpn]):
    return _page(
        _by_epn(_partenaires(request.user), params, "structure__referencee_par_id"), params, _partenaire
    )


@router.get(
    "/partenaires/{partenaire_id}/",
    tags=["Lieux et partenaires"],
    response={200: schemas.Partenaire, **ERRORS},
    summary="Une fiche partenaire, au standard national",
    exclude_none=True,
)
def partenaire(request, partenaire_id: int = _id("Identifiant de la fiche")):
    return _partenaire(get_object_or_404(_partenaires(request.user), pk=partenaire_id))


# --- Diagnostics ----------------------------------------------------------------------------------


def _diagnostic(diagnostic: Diagnostic) -> dict:
    return {
        "id": diagnostic.pk,
        "epn": diagnostic.structure_id,
        "titre": diagnostic.titre,
        "niveau": diagnostic.niveau,
        "unite": diagnostic.unite,
        "periode_debut": diagnostic.periode_debut,
        "periode_fin": diagnostic.periode_fin,
        "calcule_le": diagnostic.created_at,
        "resultat_url": reverse("api:diagnostic-resultat", kwargs={"diagnostic_id": diagnostic.pk}),
    }


def _diagnostics(user):
    return Diagnostic.objects.visible_to(user).defer("resultat", "parametres")


@router.get(
    "/diagnostics/",
    tags=["Diagnostics"],
    response={200: schemas.PageDiagnostics, **ERRORS},
    summary="Les diagnostics",
)
def diagnostics(request, params: Query[FiltreEpn]):
    return _page(_by_epn(_diagnostics(request.user), params), params, _diagnostic)


@router.get(
    "/diagnostics/{diagnostic_id}/",
    tags=["Diagnostics"],
    response={200: schemas.Diagnostic, **ERRORS},
    summary="Un diagnostic",
)
def diagnostic(request, diagnostic_id: int = _id("Identifiant du diagnostic")):
    return _diagnostic(get_object_or_404(_diagnostics(request.user), pk=diagnostic_id))


@router.get(
    "/diagnostics/{diagnostic_id}/resultat/",
    tags=["Diagnostics"],
    response={200: schemas.ResultatDiagnostic, **ERRORS},
    summary="Le JSON du diagnostic (celui de `ancrage diagnostic --json`)",
    url_name="diagnostic-resultat",
)
def diagnostic_resultat(request, diagnostic_id: int = _id("Identifiant du diagnostic")):
    diagnostic = get_object_or_404(Diagnostic.objects.visible_to(request.user), pk=diagnostic_id)
    return HttpResponse(diagnostic_json(diagnostic.resultat), content_type="application/json; charset=utf-8")


# --- Actions and their sessions ---------------------------------------------------------------------

STATUT_LABELS = dict(Statut.choices)


def _action(action: Action) -> dict:
    return {
        "id": action.pk,
        "epn": action.structure_id,
        "titre": action.titre,
        "thematique": action.thematique,
        "services": list(action.services),
        "type": action.type,
        "statut": action.statut,
        "statut_libelle": STATUT_LABELS.get(action.statut, action.statut),
        "publics": list(action.publics),
        "secteurs": list(action.secteurs),
        "lieu": action.lieu,
        "partenaires": sorted(p.pk for p in action.partenaires.all()),
        "creee_le": action.created_at,
        "modifiee_le": action.updated_at,
    }


def _actions(user):
    return Action.objects.visible_to(user).prefetch_related("partenaires")


@router.get(
    "/actions/",
    tags=["Actions et séances"],
    response={200: schemas.PageActions, **ERRORS},
    summary="Les fiches action",
)
def actions(request, params: Query[FiltreEpn]):
    return _page(_by_epn(_actions(request.user), params), params, _action)


@router.get(
    "/actions/{action_id}/",
    tags=["Actions et séances"],
    response={200: schemas.Action, **ERRORS},
    summary="Une fiche action",
)
def action(request, action_id: int = _id("Identifiant de l’action")):
    return _action(get_object_or_404(_actions(request.user), pk=action_id))


def _seance(seance: Seance) -> dict:
    return {
        "id": seance.pk,
        "action": seance.action_id,
        "titre": seance.titre,
        "debut": seance.debut,
        "fin": seance.fin,
        "lieu": seance.lieu,
    }


@router.get(
    "/actions/{action_id}/seances/",
    tags=["Actions et séances"],
    response={200: schemas.PageSeances, **ERRORS},
    summary="Les séances d’une action",
)
def seances(request, params: Query[Pagination], action_id: int = _id("Identifiant de l’action")):
    action = get_object_or_404(Action.objects.visible_to(request.user), pk=action_id)
    return _page(Seance.objects.visible_to(request.user).filter(action=action), params, _seance)


# --- Conventions ----------------------------------------------------------------------------------


def _conventions(user):
    return (
        Convention.objects.visible_to(user)
        .defer("circuit", "engagements", "finances", "indicateurs")
        .prefetch_related("partenaires")
    )


def _convention_converter(user, conventions):
    """Converts ``conventions``; their action and original are named only when the user sees
    them too (a partner party to a convention may not be party to its action)."""
    action_ids = {c.action_id for c in conventions if c.action_id}
    original_ids = {c.avenant_de_id for c in conventions if c.avenant_de_id}
    visible_actions = set(
        Action.objects.visible_to(user).filter(id__in=action_ids).values_list("id", flat=True)
    )
    visible_conventions = set(
        Convention.objects.visible_to(user).filter(id__in=original_ids).values_list("id", flat=True)
    )

    def convert(convention: Convention) -> dict:
        etat = convention_selectors.effective_etat(convention)
        return {
            "id": convention.pk,
            "epn": convention.structure_id,
            "action": convention.action_id if convention.action_id in visible_actions else None,
            "collectivite": convention.collectivite_id,
            "partenaires": sorted(p.pk for p in convention.partenaires.all()),
            "titre": convention.titre,
            "reference": convention.reference,
            "modele": convention.modele,
            "objet": convention.objet,
            "date_debut": convention.date_debut,
            "date_fin": convention.date_fin,
            "duree_mois": convention.duree_mois,
            "reconduction_tacite": convention.reconduction_tacite,
            "etat": etat,
            "etat_libelle": ETAT_LABELS.get(etat, etat),
            "avenant_de": convention.avenant_de_id
            if convention.avenant_de_id in visible_conventions
            else None,
            "numero_avenant": convention.numero_avenant,
            "signee_le": convention.signee_le,
            "pdf_signe_sha256": convention.pdf_signe_sha256,
            "pdf_signe_url": (
                reverse("api:convention-pdf-signe", kwargs={"convention_id": convention.pk})
                if convention.pdf_signe
                else None
            ),
        }

    return convert


@router.get(
    "/conventions/",
    tags=["Conventions"],
    response={200: schemas.PageConventions, **ERRORS},
    summary="Les conventions",
)
def conventions(request, params: Query[FiltreEpn]):
    converter = per_page(lambda conventions: _convention_converter(request.user, conventions))
    return _page(_by_epn(_conventions(request.user), params), params, converter)


@router.get(
    "/conventions/{convention_id}/",
    tags=["Conventions"],
    response={200: schemas.Convention, **ERRORS},
    summary="Une convention",
)
def convention(request, convention_id: int = _id("Identifiant de la convention")):
    found = get_object_or_404(_conventions(request.user), pk=convention_id)
    return _convention_converter(request.user, [found])(found)


@router.get(
    "/conventions/{convention_id}/pdf-signe/",
    tags=["Conventions"],
    response={**ERRORS},
    summary="Le PDF signé et scellé d’une convention",
    url_name="convention-pdf-signe",
    openapi_extra={
        "responses": {
            "200": {
                "description": "Le PDF signé (PDF/A-3b, scellé).",
                "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def convention_pdf_signe(request, convention_id: int = _id("Identifiant de la convention")):
    found = get_object_or_404(Convention.objects.visible_to(request.user), pk=convention_id)
    if not found.pdf_signe:
        raise Http404("Cette convention n’a pas de PDF signé.")
    # Read whole (a signed convention is a few hundred kilobytes): no file is left open, whatever
    # the client does with the response.
    with found.pdf_signe.open("rb") as pdf:
        body = pdf.read()
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{found.reference or found.pk}-signee.pdf"'
    return response


# --- Dossiers -------------------------------------------------------------------------------------

ETAT_DOSSIER_LABELS = dict(EtatDossier.choices)
OPERATION_LABELS = dict(Operation.choices)


def _dossier(dossier) -> dict:
    return {
        "id": dossier.pk,
        "numero": dossier.numero,
        "epn": dossier.structure_id,
        "action": dossier.action_id,
        "titre": dossier.titre,
        "etat": dossier.etat,
        "etat_libelle": ETAT_DOSSIER_LABELS.get(dossier.etat, dossier.etat),
        "thematique": dossier.thematique,
        "depose_le": dossier.depose_le,
        "decide_le": dossier.decide_le,
        "cree_le": dossier.created_at,
        "modifie_le": dossier.updated_at,
    }


def _dossiers(user):
    return dossiers_visible_to(user).only(
        "id", "structure_id", "action_id", "titre", "etat", "thematique", "depose_le", "decide_le",
        "created_at", "updated_at",
    )  # fmt: skip


@router.get(
    "/dossiers/",
    tags=["Dossiers de projet"],
    response={200: schemas.PageDossiers, **ERRORS},
    summary="Les dossiers de projet",
)
def dossiers(request, params: Query[FiltreEpn]):
    return _page(_by_epn(_dossiers(request.user), params), params, _dossier)


@router.get(
    "/dossiers/{dossier_id}/",
    tags=["Dossiers de projet"],
    response={200: schemas.DossierDetail, **ERRORS},
    summary="Un dossier de projet et son historique",
)
def dossier(request, dossier_id: int = _id("Identifiant du dossier")):
    found = get_object_or_404(_dossiers(request.user), pk=dossier_id)
    historique = [
        {
            "sequence": t.sequence,
            "operation": t.operation,
            "operation_libelle": OPERATION_LABELS.get(t.operation, t.operation),
            "etat_avant": t.etat_avant,
            "etat_apres": t.etat_apres,
            "role": t.role,
            "le": t.at,
            "motivation": t.motivation,
            "motif_correction": t.motif_correction,
            "message": t.message,
        }
        for t in found.traitements.order_by("sequence")
    ]
    return {**_dossier(found), "historique": historique}


# --- Network indicators ---------------------------------------------------------------------------


@router.get(
    "/reseau/indicateurs/",
    tags=["Réseau"],
    response={200: schemas.IndicateursReseau, 403: Erreur, **ERRORS},
    summary="Les indicateurs du réseau, par EPN et au total (tableau du réseau)",
    url_name="reseau-indicateurs",
)
def reseau_indicateurs(request, params: Query[schemas.FiltreReseau]):
    """The figures of the coordinator's dashboard (``ancrage.reseau``), for the token's réseau."""
    if not reseau_selectors.may_read(request.user):
        raise HttpError(403, "Seule la coordination d’un réseau lit ses indicateurs.")
    try:
        network = reseau_selectors.network_indicators(
            request.user, collectivite=params.collectivite, debut=params.debut, fin=params.fin
        )
    except Collectivite.DoesNotExist as exc:
        raise Http404("Collectivité inconnue de ce réseau.") from exc
    except DjangoValidationError as exc:
        raise HttpError(422, " ".join(exc.messages)) from exc
    return network.as_dict()
