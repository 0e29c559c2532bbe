"""The action carries the one budget: edited by the EPN's staff on the action's page, audited,
read by the dossier (a brouillon follows it, a deposited dossier keeps what it was deposited with)
and by the conventions drafted from the action. Others' budgets stay out of reach."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from ancrage.actions import services as actions
from ancrage.actions.models import RessourceAction
from ancrage.audit.models import AuditEntry
from ancrage.conventions import selectors as convention_selectors
from ancrage.dossiers import services as dossiers
from tests.dossiers.conftest import build_world

CHARGES = [
    {"categorie": "64", "libelle": "Animation", "montant": "1000"},
    {"categorie": "861", "libelle": "Salle prêtée", "montant": "200"},
]


def ressources(world):
    return [
        {"categorie": "74", "libelle": "Subvention", "montant": "700", "partie": "collectivite"},
        {"categorie": "fp", "libelle": "Fonds propres", "montant": "300", "partie": "epn"},
        {
            "categorie": "871",
            "libelle": "Salle",
            "montant": "200",
            "partie": f"partenaire-{world.partner.pk}",
        },
    ]


@pytest.fixture
def world(db):
    return build_world()


def test_the_staff_sets_the_budget_and_the_edit_is_audited(world):
    summary = actions.action_set_budget(
        acting_user=world.animateur, action=world.action, charges=CHARGES, ressources=ressources(world)
    )
    assert summary.is_balanced and summary.total_charges == 1200
    by_party = {r.partie: (r.contributeur, r.type_contributeur) for r in world.action.ressources_budget.all()}
    assert by_party["collectivite"] == (world.metropole.nom, "financeur")
    assert by_party["epn"] == (world.epn.nom, "porteur")
    assert by_party[f"partenaire-{world.partner.pk}"] == (world.partner.nom, "partenaire")
    entry = AuditEntry.objects.filter(object_type="actions.action", object_id=str(world.action.pk)).latest(
        "id"
    )
    before, after = entry.changes["budget"]
    assert any("Subvention : 700.00" in line for line in after)


def test_nobody_else_writes_the_budget_and_a_stranger_cannot_be_a_party(world):
    for user in (world.vitre_animateur, world.partenaire, world.referent):
        with pytest.raises(PermissionDenied):
            actions.action_set_budget(acting_user=user, action=world.action, charges=CHARGES, ressources=[])
    bad = [{"categorie": "74", "libelle": "X", "montant": "1", "partie": f"partenaire-{world.vitre_epn.pk}"}]
    with pytest.raises(ValidationError, match="n’est pas une partie de l’action"):
        actions.action_set_budget(
            acting_user=world.animateur, action=world.action, charges=[], ressources=bad
        )
    with pytest.raises(ValidationError, match="nom du financeur"):
        actions.action_set_budget(
            acting_user=world.animateur,
            action=world.action,
            charges=[],
            ressources=[{"categorie": "74", "libelle": "X", "montant": "1", "partie": ""}],
        )


def test_a_brouillon_follows_the_action_and_a_deposited_dossier_keeps_its_budget(world):
    dossier = world.dossier  # its budget was set through the dossier's page: it went to the action
    assert world.action.budget_summary().total_charges == 1200
    dossiers.dossier_transition(acting_user=world.animateur, dossier=dossier, action="deposer")
    dossier.refresh_from_db()
    more = [*CHARGES, {"categorie": "60", "libelle": "Tablettes", "montant": "500"}]
    actions.action_set_budget(
        acting_user=world.animateur, action=world.action, charges=more, ressources=ressources(world)
    )
    assert world.action.budget_summary().total_charges == 1700
    assert dossier.budget_summary().total_charges == 1200  # deposited with 1 200 €
    draft = dossiers.dossier_create(acting_user=world.animateur, action=world.action)
    assert draft.budget_summary().total_charges == 1700  # a brouillon reads the action's


def test_the_convention_reads_the_actions_budget_by_party(world):
    actions.action_set_budget(
        acting_user=world.animateur, action=world.action, charges=CHARGES, ressources=ressources(world)
    )
    lines = convention_selectors.budget_of_action(world.action)
    resources = {line["partie"]: line for line in lines if line["ressource"]}
    assert resources["collectivite"]["montant"] == "700.00" and not resources["collectivite"]["en_nature"]
    assert resources[f"partenaire-{world.partner.pk}"]["en_nature"]


def test_a_partner_removed_from_the_action_becomes_an_outside_financeur(world):
    actions.action_set_budget(
        acting_user=world.animateur, action=world.action, charges=CHARGES, ressources=ressources(world)
    )
    participation = world.action.participations.get(partenaire=world.partner)
    actions.action_partenaire_remove(acting_user=world.animateur, participation=participation)
    line = RessourceAction.objects.get(action=world.action, libelle="Salle")
    assert (line.partie, line.contributeur, line.montant) == ("", world.partner.nom, 200)


def test_the_budget_page_edits_for_the_staff_reads_for_the_referent_and_hides_from_partners(world, client):
    url = reverse("actions:budget", args=[world.action.pk])
    client.force_login(world.animateur)
    page = client.get(url).content.decode()
    assert "Modifier le budget" in page and "Ressources prévisionnelles" in page
    data = {
        "charges-TOTAL_FORMS": "1",
        "charges-INITIAL_FORMS": "0",
        "charges-0-categorie": "64",
        "charges-0-libelle": "Animation",
        "charges-0-montant": "900",
        "ressources-TOTAL_FORMS": "2",
        "ressources-INITIAL_FORMS": "0",
        "ressources-0-categorie": "74",
        "ressources-0-libelle": "Subvention",
        "ressources-0-montant": "600",
        "ressources-0-partie": "collectivite",
        "ressources-1-categorie": "74",
        "ressources-1-libelle": "Aide CAF",
        "ressources-1-montant": "300",
        "ressources-1-partie": "autre",
        "ressources-1-contributeur": "CAF d’Ille-et-Vilaine",
    }
    response = client.post(url, data)
    assert response.status_code == 302
    assert {r.contributeur for r in world.action.ressources_budget.all()} == {
        world.metropole.nom,
        "CAF d’Ille-et-Vilaine",
    }
    client.force_login(world.referent)
    page = client.get(url).content.decode()
    assert "CAF d’Ille-et-Vilaine" in page and "Modifier le budget" not in page
    assert client.post(url, data).status_code == 403  # the collectivité reads, never writes
    for outsider in (world.partenaire, world.vitre_animateur, world.vitre_referent):
        client.force_login(outsider)
        assert client.get(url).status_code == 404


def test_the_financing_task_is_prefilled_as_the_budget_has_it(world):
    actions.matrice_update(
        acting_user=world.animateur,
        action=world.action,
        rows={"financement": ("collectivite", {f"partenaire-{world.partner.pk}"})},
    )
    world.action.ressources_budget.all().delete()
    world.action.charges_budget.all().delete()
    prefill = convention_selectors.prefill_from_action(world.action)
    assert not [e for e in prefill["engagements"] if e["domaine"] == "financement"]  # no budget: none
    actions.action_set_budget(
        acting_user=world.animateur, action=world.action, charges=CHARGES, ressources=ressources(world)
    )
    prefill = convention_selectors.prefill_from_action(world.action)
    financing = {e["partie"]: e["texte"] for e in prefill["engagements"] if e["domaine"] == "financement"}
    assert financing["collectivite"].startswith("contribuer au financement de l'action à hauteur de 700,00")
    assert financing[f"partenaire-{world.partner.pk}"].startswith(
        "apporter à l'action une contribution en nature valorisée à 200,00"
    )
