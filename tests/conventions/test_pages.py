"""Convention pages in the browser's order, on the demo: drafted from an action, generated,
submitted, rejected by the partner with a comment, corrected, submitted again, visa, signed by the
élu; the sealed PDF verifies and one changed byte fails. Then who sees what."""

import json
import re

from django.core import mail
from django.urls import reverse

from ancrage.actions.models import Action
from ancrage.conventions import financement, selectors
from ancrage.conventions.content import format_amount
from ancrage.conventions.documents import generate_docx
from ancrage.conventions.enums import Etat
from ancrage.conventions.modeles import MODELS
from ancrage.conventions.models import Convention, GenerationJob
from ancrage.conventions.platform import platform_certificate
from ancrage.conventions.signature import verify_pdf
from ancrage.demo.actions import SENIORS, TY_BLOSNE
from ancrage.demo.conventions import DEUX_PARTENAIRES, ECHEANCE, EN_VALIDATION, SIGNEE
from ancrage.organisations.enums import Role
from ancrage.organisations.models import Membership, Structure
from tests.conventions.test_custom_models import model_with
from tests.conventions.test_documents import docx_text, pdf_text
from tests.demo_accounts import login
from tests.organisations.factories import UserFactory


def body(response) -> bytes:
    # Reading a streamed response to its end closes its file, the way the test client wants it
    # (response.close() would also close the database connection of the test's transaction).
    return b"".join(response.streaming_content) if response.streaming else response.content


def status(client, url) -> int:
    response = client.get(url)
    body(response)
    return response.status_code


def edit_data(convention, **overrides):
    data = {
        "titre": convention.titre,
        "modele": convention.modele,
        "partenaires": [p.pk for p in convention.partenaires.all()],
        "objet": convention.objet,
        "objectifs": "\n".join(convention.objectifs),
        "publics": "\n".join(convention.publics),
        "indicateurs": "\n".join(convention.indicateurs),
        "modalites_versement": convention.modalites_versement,
        "date_debut": convention.date_debut.isoformat(),
        "duree_mois": convention.duree_mois,
        "reconduction_tacite": "on" if convention.reconduction_tacite else "",
        "reconductions_max": convention.reconductions_max or "",
        "preavis_mois": convention.preavis_mois,
        "delai_alerte_jours": convention.delai_alerte_jours,
        "lieu_signature": convention.lieu_signature,
        "juridiction": convention.juridiction,
    }
    for item in convention.engagements:
        key = f"engagements__{item['partie']}"
        data[key] = (data.get(key, "") + "\n" + item["texte"]).strip()
    data.update(overrides)
    return data


def sign_by_four(client, convention, sha):
    """Four people sign, each with the code of their e-mail; the élu, whose group comes last, waits."""
    sign = reverse("conventions:sign", kwargs={"pk": convention.pk})
    login(client, "elu")
    assert "Aucune signature" in client.get(sign, follow=True).content.decode()
    for account in ("responsable", "partenaire", "partenaire2", "elu"):
        login(client, account)
        html = client.get(convention.get_absolute_url()).content.decode()
        assert "Signer avec un code à usage unique" in html, account
        page = client.get(sign)
        assert "Recevoir un code par e-mail" in page.content.decode()
        etape = page.context["turn"].step
        mail.outbox.clear()
        client.post(sign, {"action": "envoyer", "etape": etape})
        [message] = mail.outbox
        assert message.to == [f"{account}@demo.ancrage.fr"] and sha in message.body
        code = re.search(r"^ +([0-9]{6})$", message.body, re.M).group(1)
        form = {"action": "signer", "tour": 2, "etape": etape, "document_sha256": sha, "canal": "email"}
        wrong = "000000" if code != "000000" else "111111"
        response = client.post(sign, {**form, "code": wrong, "consentement": "on"})
        assert "n’est pas le bon" in response.content.decode()
        response = client.post(sign, {**form, "code": code, "consentement": "on"})
        assert response.status_code == 302, response.content.decode()


def test_full_circuit_in_the_browser(client, demo):
    ty_blosne = Structure.objects.get(nom=TY_BLOSNE)
    action = Action.objects.get(titre=SENIORS)

    login(client, "animateur")
    assert "Rédiger une convention" in client.get(action.get_absolute_url()).content.decode()
    html = client.get(reverse("conventions:create") + f"?action={action.pk}").content.decode()
    assert "engagement" in html and "Bien vivre" in html
    response = client.post(
        reverse("conventions:create"),
        {
            "action": action.pk,
            "titre": "Convention des ateliers seniors",
            "modele": "partenariat_generique",
            "date_debut": "2027-01-01",
            "duree_mois": 12,
            "objet": "Des ateliers pour les seniors du Blosne.",
        },
    )
    convention = Convention.objects.get(titre="Convention des ateliers seniors")
    assert response["Location"] == reverse("conventions:update", kwargs={"pk": convention.pk})
    assert set(convention.partenaires.values_list("nom", flat=True)) == {TY_BLOSNE, "CCAS de Rennes (démo)"}
    response = client.post(reverse("conventions:update", kwargs={"pk": convention.pk}), edit_data(convention))
    assert response.status_code == 302, response.content.decode()
    response = client.post(reverse("conventions:generate", kwargs={"pk": convention.pk}))
    job = GenerationJob.objects.get(convention=convention)
    assert response["Location"] == reverse("conventions:job", kwargs={"pk": job.pk})
    assert "Terminée" in client.get(response["Location"]).content.decode()
    version = convention.versions.get()
    pdf = body(client.get(reverse("conventions:download", kwargs={"pk": version.pk, "fmt": "pdf"})))
    assert TY_BLOSNE in pdf_text(pdf) and "mobilisation et l'orientation des publics" in pdf_text(pdf)
    docx = client.get(reverse("conventions:download", kwargs={"pk": version.pk, "fmt": "docx"}))
    assert docx["Content-Disposition"].startswith("attachment")
    body(docx)
    client.post(reverse("conventions:submit", kwargs={"pk": convention.pk}))
    convention.refresh_from_db()
    assert convention.etat == Etat.EN_VALIDATION

    # The partner refuses: a reason is required, and the convention goes back to the draft.
    login(client, "partenaire")
    html = client.get(convention.get_absolute_url()).content.decode()
    assert "Votre signature est attendue" in html and version.pdf_sha256 in html
    refuse = reverse("conventions:refuse", kwargs={"pk": convention.pk})
    step = next(i for i, s in enumerate(convention.circuit["steps"]) if TY_BLOSNE in s["label"])
    response = client.post(refuse, {"tour": 1, "etape": step, "commentaire": " "}, follow=True)
    assert "Motif du refus" in response.content.decode()
    client.post(refuse, {"tour": 1, "etape": step, "commentaire": "Il manque le prêt de notre salle."})
    convention.refresh_from_db()
    assert convention.etat == Etat.BROUILLON
    client.post(
        reverse("conventions:commentaire_add", kwargs={"pk": convention.pk}),
        {"texte": "Le mardi nous convient."},
    )

    # The EPN corrects, generates a new version and submits again: a second round.
    login(client, "animateur")
    html = client.get(convention.get_absolute_url()).content.decode()
    assert "Il manque le prêt de notre salle." in html and "Le mardi nous convient." in html
    key = f"engagements__partenaire-{ty_blosne.pk}"
    data = edit_data(convention)
    data[key] = data.get(key, "") + "\nprêter sa salle le mardi"
    client.post(reverse("conventions:update", kwargs={"pk": convention.pk}), data)
    client.post(reverse("conventions:generate", kwargs={"pk": convention.pk}))
    client.post(reverse("conventions:submit", kwargs={"pk": convention.pk}))
    convention.refresh_from_db()
    assert convention.tour == 2 and convention.version_soumise.numero == 2
    sha = convention.version_soumise.pdf_sha256

    sign_by_four(client, convention, sha)
    convention.refresh_from_db()
    assert convention.etat == Etat.SIGNEE
    signatures = convention.decisions.filter(tour=2, nature="signature")
    assert signatures.count() == 4 and set(signatures.values_list("canal", flat=True)) == {"email"}

    html = client.get(convention.get_absolute_url()).content.decode()
    assert "signature électronique simple" in html and "pas une signature qualifiée" in html
    signed = body(client.get(reverse("conventions:signed", kwargs={"pk": convention.pk})))
    cert = platform_certificate().cert_path
    assert verify_pdf(signed, trusted_certificates=[cert], expected_sha256=convention.pdf_signe_sha256).ok
    assert re.search(r"Fait à Rennes, le [0-9]{1,2}(er)? [a-zéû]+ 20[0-9]{2}", pdf_text(signed))
    changed = bytearray(signed)
    changed[len(changed) // 3] ^= 0x01
    assert not verify_pdf(bytes(changed), trusted_certificates=[cert]).ok
    proof = client.get(reverse("conventions:proof", kwargs={"pk": convention.pk, "tour": 2, "fmt": "json"}))
    assert json.loads(proof.content)["empreintes"]["document_approuve_sha256"] == [sha]

    history = client.get(reverse("conventions:history", kwargs={"pk": convention.pk})).content.decode()
    for v in convention.versions.all():
        assert v.pdf_sha256 in history and v.docx_sha256 in history
    assert history.count("<td>Validée") == 4 and "Il manque le prêt de notre salle." in history


def test_demo_shows_the_three_conventions_and_the_alert(client, demo):
    login(client, "animateur")
    html = client.get(reverse("conventions:list")).content.decode()
    for titre in (SIGNEE, EN_VALIDATION, ECHEANCE):
        assert titre.replace("«", "&laquo;")[:20] in html or titre[:20] in html
    assert 'id="alertes-echeance"' in html and "arrive à échéance" in html
    signee = Convention.objects.get(titre=SIGNEE)
    assert signee.decisions.filter(decision="rejeter").exists() and signee.etat == Etat.SIGNEE
    login(client, "partenaire")
    html = client.get(Convention.objects.get(titre=EN_VALIDATION).get_absolute_url()).content.decode()
    assert "Votre signature est attendue" in html
    # The two-partner convention waits for its four signatories, each asked on their page.
    two = Convention.objects.get(titre=DEUX_PARTENAIRES)
    assert two.etat == Etat.EN_VALIDATION and two.partenaires.count() == 2
    assert sum(len(s["people"]) for s in two.circuit["steps"]) == 4
    # The signed one lists its four signatories, dated in its text.
    assert signee.decisions.filter(tour=signee.tour, nature="signature").count() == 4
    assert "Fait à Rennes, le …" not in pdf_text(
        body(client.get(reverse("conventions:signed", kwargs={"pk": signee.pk})))
    )


def test_who_sees_what(client, demo):
    convention = Convention.objects.get(titre=SIGNEE)
    version = convention.versions.first()
    job = convention.jobs.first()
    urls = [
        convention.get_absolute_url(),
        reverse("conventions:history", kwargs={"pk": convention.pk}),
        reverse("conventions:signed", kwargs={"pk": convention.pk}),
        reverse("conventions:download", kwargs={"pk": version.pk, "fmt": "pdf"}),
        reverse("conventions:download", kwargs={"pk": version.pk, "fmt": "docx"}),
        reverse("conventions:job", kwargs={"pk": job.pk}),
        reverse("conventions:proof", kwargs={"pk": convention.pk, "tour": convention.tour, "fmt": "pdf"}),
    ]
    login(client, "animateur2")  # another EPN's animateur
    for url in urls:
        assert status(client, url) == 404, url
    assert SIGNEE[:20] not in client.get(reverse("conventions:list")).content.decode()

    # A partner of another organisation of the Blosne sees none of the centre social's conventions.
    mission = Structure.objects.get(nom="Mission locale du bassin rennais (démo)")
    other = UserFactory()
    Membership.objects.create(user=other, role=Role.PARTENAIRE, structure=mission)
    client.force_login(other)
    for url in urls:
        assert status(client, url) == 404, url

    login(client, "partenaire")
    for url in urls:
        assert status(client, url) == 200, url
    # Seen, but not theirs to write.
    assert client.post(reverse("conventions:avenant", kwargs={"pk": convention.pk})).status_code == 403
    assert client.get(reverse("conventions:update", kwargs={"pk": convention.pk})).status_code == 403
    assert client.get(reverse("conventions:create")).status_code == 403
    # IP addresses are shown to the EPN only.
    login(client, "elu")
    assert client.get(urls[0]).status_code == 200


def test_avenant_and_termination_pages(client, demo):
    convention = Convention.objects.get(titre=SIGNEE)
    login(client, "animateur")
    response = client.post(reverse("conventions:avenant", kwargs={"pk": convention.pk}))
    avenant = Convention.objects.get(avenant_de=convention)
    assert response["Location"] == reverse("conventions:update", kwargs={"pk": avenant.pk})
    assert "Avenant n° 1" in client.get(avenant.get_absolute_url()).content.decode()
    url = reverse("conventions:terminate", kwargs={"pk": convention.pk})
    response = client.post(url, {"motif": "", "date_effet": "2030-01-01"})
    assert response.status_code == 200  # the form says what is missing
    client.post(url, {"motif": "Fin du financement (démo).", "date_effet": "2030-01-01"})
    convention.refresh_from_db()
    assert convention.resiliee_le.isoformat() == "2030-01-01"
    # A draft cannot be terminated.
    response = client.post(
        reverse("conventions:terminate", kwargs={"pk": avenant.pk}),
        {"motif": "x", "date_effet": "2030-01-01"},
    )
    assert "résilier" in response.content.decode()


def test_custom_model_upload_is_checked(client, demo):
    from django.core.files.uploadedfile import SimpleUploadedFile

    login(client, "animateur")
    url = reverse("conventions:modeles")
    bad = SimpleUploadedFile("casse.docx", model_with("{{ convention.inconnue }}"))
    html = client.post(url, {"nom": "Cassé", "fichier": bad}).content.decode()
    assert "inconnue" in html and "fr-error-text" in html
    from tests.conventions.test_custom_models import valid_model

    good = SimpleUploadedFile("notre.docx", valid_model())
    assert client.post(url, {"nom": "Notre modèle", "fichier": good}).status_code == 302
    html = client.get(reverse("conventions:create")).content.decode()
    assert "Modèle de l’EPN : Notre modèle" in html


def test_a_running_generation_refreshes_its_page(client, demo, settings):
    settings.ANCRAGE_JOBS_SYNC = False
    login(client, "animateur")
    convention = Convention.objects.get(titre=SIGNEE)
    avenant_url = client.post(reverse("conventions:avenant", kwargs={"pk": convention.pk}))["Location"]
    avenant = Convention.objects.get(pk=re.search(r"/(\d+)/", avenant_url).group(1))
    response = client.post(reverse("conventions:generate", kwargs={"pk": avenant.pk}))
    html = client.get(response["Location"]).content.decode()
    assert 'http-equiv="refresh"' in html and "En attente" in html


def test_list_page_query_count_does_not_grow(client, demo, django_assert_max_num_queries):
    from ancrage.conventions import services

    login(client, "animateur")
    url = reverse("conventions:list")
    with django_assert_max_num_queries(15) as small:
        client.get(url)
    blosne = Structure.objects.get(nom="EPN du Blosne (démo)")
    ty_blosne = Structure.objects.get(nom=TY_BLOSNE)
    for n in range(10):
        services.convention_create(
            acting_user=None,
            epn=blosne,
            titre=f"Convention {n} (démo)",
            objet="Objet.",
            date_debut=Convention.objects.first().date_debut,
            partenaires=[ty_blosne],
        )
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(url)


# --- The financial clause and the ODT, on the demo's conventions ----------------------------------


def test_every_model_renders_the_demo_conventions_without_contradiction(demo):
    seen = set()
    for convention in Convention.objects.filter(titre__in=[SIGNEE, EN_VALIDATION, ECHEANCE]):
        content = selectors.content_for(convention)
        decision = financement.decide(content)
        for slug in MODELS:
            text = docx_text(generate_docx(slug, content).content)
            assert ("à titre gratuit" in text) == decision.free
            if decision.free:
                assert not financement.FINANCING_WORDS.search(text)
            else:
                assert "assurer le financement" not in text
            for contributor in decision.paying:
                assert f"participation financière de {format_amount(contributor.cash)}" in text
            if content.finances and content.finances.lines:
                assert format_amount(content.finances.total_charges) in text
                assert format_amount(content.finances.total_resources) in text
        seen.add((convention.titre, decision.free))
    # The seniors' convention is co-financed by Rennes Métropole; the other two are free.
    assert seen == {(SIGNEE, False), (EN_VALIDATION, True), (ECHEANCE, True)}


def test_the_odt_is_offered_next_to_the_docx_and_kept_per_version(demo, client):
    convention = Convention.objects.get(titre=EN_VALIDATION)
    version = convention.versions.latest("numero")
    assert version.odt and len(version.odt_sha256) == 64
    login(client, "animateur")
    page = client.get(convention.get_absolute_url()).content.decode()
    assert reverse("conventions:download", args=[version.pk, "odt"]) in page
    assert "la convention est conclue à titre gratuit" in page  # what the clause makes of the budget
    response = client.get(reverse("conventions:download", args=[version.pk, "odt"]))
    assert response.status_code == 200 and b"".join(response.streaming_content)[:2] == b"PK"
    login(client, "animateur2")  # Vitré's EPN: not its convention
    assert client.get(reverse("conventions:download", args=[version.pk, "odt"])).status_code == 404
