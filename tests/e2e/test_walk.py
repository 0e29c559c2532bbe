"""The whole loop in a real browser, on the demo.

One test, in steps, as the people of the demo would walk it: the animatrice imports her files,
reads the diagnostic, builds an action from a target with recommended partners and a task
matrix; the convention goes round its circuit; the dossier goes to the référente, comes back
for a correction and is accepted. axe-core checks every page the walk reaches; the pages the
docs show are photographed on the way (see docs/captures.md and tests/e2e/conftest.py).

Some 60 s (every party signs with its code now): ``slow``, run by CI's step after the two suites
(.ci/run) and by ``make test-slow``; ``make test`` keeps the shorter browser tests of each part.
"""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import expect

from ancrage.core.wording import de_nom
from ancrage.demo.diagnostic import usagers_csv
from ancrage.territoire import insee
from tests.e2e.helpers import AxeLog, screenshot

FIXTURES = Path(__file__).parents[1] / "fixtures"
POPULATION = FIXTURES / "insee" / "rennes-iris-2016.csv"

ANIMATEUR = "animateur@demo.ancrage.fr"
REFERENT = "referent@demo.ancrage.fr"
ELU = "elu@demo.ancrage.fr"
PARTENAIRE = "partenaire@demo.ancrage.fr"
RESPONSABLE = "responsable@demo.ancrage.fr"
TY_BLOSNE = "Centre social Ty-Blosne (démo)"
WALK_ACTION = "Ateliers numériques du parcours (e2e)"


class Walk:
    """The people of the walk, each in their own browser context, and what axe found on the way."""

    def __init__(self, visitor_factory):
        self.visitor_factory = visitor_factory
        self.people = {}
        self.axe = AxeLog()

    def as_(self, email):
        if email not in self.people:
            self.people[email] = self.visitor_factory(email)
        visitor = self.people[email]
        self.check(visitor)
        return visitor

    def check(self, visitor):
        """axe on the page as it is now (once per path and role)."""
        self.axe.check(visitor.page, f"{visitor.path()} ({visitor.page.locator('h1').first.inner_text()})")


def _tick(page, label, exact=False):
    """Tick a DSFR radio button or checkbox as a person does: by clicking its label."""
    field = page.get_by_label(label, exact=exact)
    page.locator(f'label[for="{field.get_attribute("id")}"]').click()
    assert field.is_checked(), label


def _success(page, text):
    """The page the last click led to says ``text`` in a success message (waits for it to load)."""
    alert = page.locator(".fr-alert--success", has_text=text)
    try:
        expect(alert).to_have_count(1)
    except AssertionError:
        errors = page.locator(".fr-alert, .fr-error-text, .errorlist").all_inner_texts()
        raise AssertionError(f"{page.url}: no success message {text!r}; errors: {errors}") from None


def _import_through_the_pages(walk, visitor, button, path, fmt=None):
    page = visitor.page
    page.get_by_role("link", name=button).click()
    walk.check(visitor)
    page.locator("#id_fichier").set_input_files(str(path))
    if fmt:
        page.get_by_label("Format du fichier").select_option(fmt)
    page.get_by_role("button", name="Analyser le fichier").click()
    assert page.locator("#etat-import").inner_text() == "Prêt à importer", page.content()[:2000]
    assert page.get_by_role("heading", name="Aperçu de l’import").is_visible()
    assert page.locator("table", has_text="Premières lignes lues").locator("tbody tr").count() > 0
    walk.check(visitor)
    page.get_by_role("button", name="Confirmer l’import").click()
    _success(page, f"« {path.name} » est importé.")
    walk.check(visitor)


def step_1_log_in_as_animateur(walk):
    visitor = walk.as_(ANIMATEUR)
    assert visitor.page.locator("h1").inner_text() == "Tableau de bord — Animateur·rice"
    return visitor


def step_2_import_files_and_read_the_diagnostic(walk, visitor, tmp_path):
    page = visitor.page
    page.locator("#navigation-principale").get_by_role("link", name="Diagnostic du territoire").click()
    assert page.locator("h1").inner_text().startswith("Diagnostic du territoire")
    walk.check(visitor)
    # The demo already holds this INSEE base, and an identical file is refused as a duplicate:
    # the walk imports it re-saved by an editor that writes Unix line ends (LF, not CRLF).
    population_file = tmp_path / "rennes-iris-2016-lf.csv"
    population_file.write_bytes(POPULATION.read_bytes().replace(b"\r\n", b"\n"))
    _import_through_the_pages(walk, visitor, "Importer une base INSEE", population_file)
    # A year of made-up usagers, drawn from the same population with the demo's known biases.
    usagers = tmp_path / "usagers-2025.csv"
    population = insee.read_insee(POPULATION.read_bytes(), POPULATION.name)
    usagers.write_bytes(usagers_csv(population, year=2025, seed=2025, senior_factor=0.3))
    _import_through_the_pages(walk, visitor, "Importer une fréquentation", usagers, fmt="ancrage")

    page.locator("#id_titre").fill("Diagnostic 2025 du parcours (e2e)")
    page.get_by_label("Fréquentation").select_option(
        label=page.locator("#id_frequentation option", has_text="usagers-2025.csv").inner_text()
    )
    page.get_by_role("button", name="Calculer le diagnostic").click()
    assert page.locator("h1").inner_text() == "Diagnostic 2025 du parcours (e2e)"
    cibles = page.locator("#cibles ~ .fr-card")
    assert cibles.count() > 0, "the diagnostic should find under-represented publics"
    walk.check(visitor)
    screenshot(page, "diagnostic")
    return page.url


def step_3_create_an_action_from_a_target(walk, visitor):
    page = visitor.page
    page.get_by_role("link", name="Créer une action à partir de cette cible").first.click()
    assert page.locator("h1").inner_text() == "Nouvelle action"
    assert page.get_by_role("heading", name="Cible n° 1").is_visible()
    walk.check(visitor)
    page.locator("#id_titre").fill(WALK_ACTION)
    _tick(page, "Durable (un programme)")
    page.get_by_role("button", name="Enregistrer").click()
    _success(page, "L’action est créée.")
    assert page.locator("h1").inner_text() == WALK_ACTION
    page.locator("#id_libelle").fill("Participants aux ateliers")
    page.locator("#id_valeur_cible").fill("24")
    page.get_by_role("button", name="Ajouter l’objectif").click()
    _success(page, "L’objectif est ajouté.")
    walk.check(visitor)
    return page.url


def step_4_recommended_partners_and_task_matrix(walk, visitor, action_url):
    page = visitor.page
    page.get_by_role("link", name="Trouver des partenaires (recommandations)").click()
    assert page.locator("h1").inner_text() == "Partenaires recommandés"
    walk.check(visitor)
    cards = page.locator(".fr-card")
    assert cards.count() >= 2
    names = []
    for _ in range(2):
        card = page.locator(".fr-card", has=page.get_by_role("button", name="Ajouter à l’action")).first
        name = card.locator(".fr-card__title").inner_text().split(". ", 1)[1].rsplit(" — ", 1)[0]
        card.get_by_role("button", name="Ajouter à l’action").click()
        _success(page, f"« {name} » est partenaire de l’action.")
        names.append(name)
    if TY_BLOSNE not in names:
        # The partner account of the demo is Ty-Blosne's: the walk needs it in the action.
        card = page.locator(".fr-card", has_text=TY_BLOSNE)
        card.get_by_role("button", name="Ajouter à l’action").click()
        names.append(TY_BLOSNE)
    walk.check(visitor)

    visitor.go(action_url.removeprefix(visitor.base))
    page.get_by_role("link", name="Modifier la répartition des tâches").click()
    assert page.locator("h1").inner_text() == "Répartition des tâches"
    walk.check(visitor)
    epn = "EPN du Blosne (démo)"
    plan = {
        "Pilotage et gestion du projet": epn,
        "Suivi": epn,
        "Communication": names[0],
        "Évaluation": epn,
        "Mobilisation des publics": TY_BLOSNE,
        "Animation": epn,
        "Logistique": names[0],
        "Financement": epn,
    }
    for task, party in plan.items():
        _tick(page, f"Responsable : {party}, {task}", exact=True)
    _tick(page, f"Contribue : {TY_BLOSNE}, Animation", exact=True)
    page.get_by_role("button", name="Enregistrer la répartition").click()
    _success(page, "La répartition des tâches est enregistrée.")
    walk.check(visitor)
    screenshot(page, "matrice")
    visitor.go(action_url.removeprefix(visitor.base))
    assert page.get_by_role("heading", name="Qui fait quoi").is_visible()
    screenshot(page, "action")
    return names


def _generate_and_submit(walk, visitor):
    page = visitor.page
    page.get_by_role("button", name="Générer une nouvelle version").click()
    expect(page.locator("#etat-generation")).to_have_text("Terminée")
    walk.check(visitor)
    page.get_by_role("link", name="Retour à la convention").click()
    page.get_by_role("button", name="Soumettre au circuit de validation").click()
    _success(page, "La convention est soumise au circuit de validation.")


def _from_home(walk, visitor, where, url):
    """The person's dashboard lists what waits for them: open it from there."""
    visitor.go("/")
    walk.check(visitor)
    path = url.removeprefix(visitor.base)
    link = visitor.page.locator(f'{where} a[href="{path}"]')
    expect(link).to_have_count(1)
    link.click()
    assert visitor.path() == path


def step_5_convention_circuit(walk, animateur, action_url, partners):
    page = animateur.page
    animateur.go(action_url.removeprefix(animateur.base))
    page.get_by_role("link", name="Rédiger une convention").click()
    assert page.locator("h1").inner_text() == "Rédiger une convention"
    walk.check(animateur)
    page.get_by_role("button", name="Créer le brouillon").click()
    _success(page, "Le brouillon est créé.")
    walk.check(animateur)
    # The centre social is kept alone as a partner: three people sign (EPN, partner, élu).
    for name in partners:
        box = page.get_by_label(name, exact=True)
        if box.is_checked() != (name == TY_BLOSNE):
            page.locator(f'label[for="{box.get_attribute("id")}"]').click()
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    _success(page, "Le brouillon est enregistré.")
    convention_url = page.url
    _generate_and_submit(walk, animateur)
    walk.check(animateur)

    partenaire = walk.as_(PARTENAIRE)
    ppage = partenaire.page
    _from_home(walk, partenaire, "#conventions-en-attente + ul", convention_url)
    walk.check(partenaire)
    ppage.get_by_text("Refuser la convention (motif obligatoire)").click()
    ppage.get_by_label("Motif du refus").fill("Il manque le prêt de notre salle le mardi.")
    ppage.get_by_role("button", name="Refuser et renvoyer en brouillon").click()
    _success(ppage, "Votre refus est enregistré")

    animateur.go(convention_url.removeprefix(animateur.base))
    assert page.get_by_text("Il manque le prêt de notre salle le mardi.").first.is_visible()
    walk.check(animateur)
    page.get_by_role("link", name="Modifier le brouillon").click()
    walk.check(animateur)
    engagements = page.get_by_label(f"Engagements {de_nom(TY_BLOSNE)}")
    engagements.fill(engagements.input_value() + "\nprêter sa salle le mardi")
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    _success(page, "Le brouillon est enregistré.")
    _generate_and_submit(walk, animateur)

    for email in (RESPONSABLE, PARTENAIRE, ELU):
        signer = walk.as_(email)
        _sign_with_emailed_code(walk, signer, email, convention_url)
    _success(signer.page, "La convention est signée")
    walk.check(signer)
    screenshot(signer.page, "convention")
    return convention_url


def _sign_with_emailed_code(walk, visitor, email, convention_url):
    """The signing page: ask for the code, read it in the e-mail, give it with the consent."""
    page = visitor.page
    visitor.go(convention_url.removeprefix(visitor.base))
    page.get_by_role("link", name="Signer avec un code à usage unique").click()
    walk.check(visitor)
    mail.outbox.clear()
    page.get_by_role("button", name="Recevoir un code par e-mail").click()
    _success(page, "Un code à 6 chiffres vous a été envoyé")
    [message] = [m for m in mail.outbox if m.to == [email]]
    code = re.search(r"^ +([0-9]{6})$", message.body, re.M).group(1)
    page.get_by_label("Code à 6 chiffres").fill(code)
    _tick(page, "J’ai lu la convention et je la signe au nom de l’organisation que je représente.")
    page.get_by_role("button", name="Signer la convention").click()


def step_6_dossier_correction_and_acceptance(walk, animateur, action_url):
    page = animateur.page
    animateur.go(action_url.removeprefix(animateur.base))
    page.get_by_role("link", name="Constituer le dossier").click()
    walk.check(animateur)
    page.get_by_role("button", name="Constituer le dossier").click()
    assert page.locator("h1").inner_text() == "Modifier le dossier"
    walk.check(animateur)
    page.locator("[name=charges-0-categorie]").select_option("64")
    page.locator("[name=charges-0-libelle]").fill("Animation des ateliers")
    page.locator("[name=charges-0-montant]").fill("1800")
    page.locator("[name=ressources-0-categorie]").select_option("74")
    page.locator("[name=ressources-0-libelle]").fill("Subvention Rennes Métropole")
    page.locator("[name=ressources-0-montant]").fill("1800")
    page.locator("[name=ressources-0-contributeur]").fill("Rennes Métropole")
    page.locator("[name=ressources-0-type_contributeur]").select_option("financeur")
    page.get_by_role("button", name="Enregistrer").click()
    _success(page, "Le dossier est enregistré.")
    dossier_url = page.url
    page.get_by_role("button", name="Déposer le dossier").click()
    _success(page, "C’est fait")
    assert page.locator("#etat-dossier").text_content() == "En construction"  # deposited
    walk.check(animateur)

    referent = walk.as_(REFERENT)
    rpage = referent.page
    rpage.locator("#navigation-principale").get_by_role("link", name="Dossiers à instruire").click()
    walk.check(referent)
    _from_home(walk, referent, "#dossiers-a-instruire + ul", dossier_url)
    walk.check(referent)
    rpage.get_by_role("button", name="Passer le dossier en instruction").click()
    _success(rpage, "C’est fait")
    rpage.get_by_text("Demander une correction à l’EPN").click()
    _tick(rpage, "Dossier incomplet")
    rpage.get_by_label("Message à l’EPN").fill("Précisez la part du centre social dans le budget.")
    rpage.get_by_role("button", name="Envoyer la demande de correction").click()
    _success(rpage, "C’est fait")
    walk.check(referent)

    _from_home(walk, animateur, "#a-faire-dossiers", dossier_url)
    assert page.get_by_role("heading", name="Correction demandée").is_visible()
    walk.check(animateur)
    page.get_by_role("button", name="Redéposer le dossier corrigé").click()
    _success(page, "C’est fait")

    referent.go(dossier_url.removeprefix(referent.base))
    assert rpage.locator("#etat-dossier").text_content() == "En construction"
    rpage.get_by_role("button", name="Passer le dossier en instruction").click()
    _success(rpage, "C’est fait")
    rpage.get_by_role("link", name="Décider").click()
    walk.check(referent)
    _tick(rpage, "Accepter le dossier")
    rpage.get_by_label("Motivation").fill("Projet conforme aux priorités de la collectivité.")
    rpage.get_by_role("button", name="Envoyer la décision").click()
    _success(rpage, "La décision est envoyée")
    assert rpage.locator("#etat-dossier").text_content() == "Accepté"
    walk.check(referent)
    screenshot(rpage, "dossier")
    return dossier_url


def _new_publics_sent_by(page, partner: str) -> int:
    """Question 1 of the dashboard: how many new publics ``partner`` sent (its row of the table)."""
    row = page.locator("h2#q1 + .fr-table tbody tr", has_text=partner)
    expect(row).to_have_count(1)
    return int(row.locator("td").nth(2).inner_text())


def _three_questions(walk, visitor):
    page = visitor.page
    page.locator("#navigation-principale").get_by_role("link", name="Suivi et pérennisation").click()
    walk.check(visitor)
    if page.locator("h1").inner_text() == "Suivi et pérennisation":
        page.get_by_role("link", name="EPN du Blosne (démo)").click()
    expect(page.locator("h1")).to_have_text("Les trois questions — EPN du Blosne (démo)")
    walk.check(visitor)


def step_7_session_with_participants_sent_by_a_partner(walk, animateur, action_url):
    page = animateur.page
    animateur.go(action_url.removeprefix(animateur.base))
    # A session held last week: the dashboard counts the last twelve months.
    day = dt.date.today() - dt.timedelta(days=7)
    page.locator("#id_titre").fill("Premier atelier (e2e)")
    page.locator("#id_debut").fill(f"{day.isoformat()}T14:00")
    page.locator("#id_fin").fill(f"{day.isoformat()}T16:00")
    page.get_by_role("button", name="Ajouter la séance").click()
    _success(page, "La séance est ajoutée au calendrier.")
    page.get_by_role("link", name="Participation et résultats").click()
    walk.check(animateur)
    page.get_by_role("link", name="Feuille de présence de Premier atelier (e2e)").click()
    walk.check(animateur)
    # Two people of the action's target (60 to 74 years old) sent by the centre social, on
    # their first visit; one more who came alone.
    people = [("e2e-001", TY_BLOSNE, "1958"), ("e2e-002", TY_BLOSNE, "1960"), ("e2e-003", None, "1990")]
    for line, (identifiant, sent_by, born) in enumerate(people):
        page.locator(f"#id_ligne-{line}-identifiant").fill(identifiant)
        if sent_by:
            # « Orienté par » is a type-ahead: type the name, take the first match.
            combo = page.locator(f"#id_ligne-{line}-oriente_par-recherche")
            combo.fill(sent_by)
            combo.press("ArrowDown")
            combo.press("Enter")
            expect(combo).to_have_value(sent_by)
        page.locator(f"#id_ligne-{line}-annee_naissance").fill(born)
        page.locator(f"#id_ligne-{line}-premiere_visite").fill(day.isoformat())
    page.get_by_role("button", name="Enregistrer la feuille").click()
    _success(page, "Feuille enregistrée : 3 ajoutées")
    walk.check(animateur)


def step_8_the_three_questions_reflect_it(walk, animateur, before: int):
    _three_questions(walk, animateur)
    assert _new_publics_sent_by(animateur.page, TY_BLOSNE) == before + 2
    screenshot(animateur.page, "trois-questions")


@pytest.mark.slow
def test_the_whole_loop_in_a_browser(demo_data, visitor_factory, tmp_path):
    walk = Walk(visitor_factory)
    animateur = step_1_log_in_as_animateur(walk)
    step_2_import_files_and_read_the_diagnostic(walk, animateur, tmp_path)
    action_url = step_3_create_an_action_from_a_target(walk, animateur)
    partners = step_4_recommended_partners_and_task_matrix(walk, animateur, action_url)
    step_5_convention_circuit(walk, animateur, action_url, partners)
    step_6_dossier_correction_and_acceptance(walk, animateur, action_url)
    _three_questions(walk, animateur)
    before = _new_publics_sent_by(animateur.page, TY_BLOSNE)
    step_7_session_with_participants_sent_by_a_partner(walk, animateur, action_url)
    step_8_the_three_questions_reflect_it(walk, animateur, before)
    assert not walk.axe.problems, f"axe found serious or critical violations:\n{walk.axe.report()}"
    assert len(walk.axe.checked) >= 15
