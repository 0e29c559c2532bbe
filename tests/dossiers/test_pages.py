"""The dossier in the browser's order, on the demo: the animatrice deposits, the référente asks a
correction, the animatrice corrects and redeposits, the référente previews then accepts; the
history, the PDFs and the e-mails are there. Then who sees what."""

from django.urls import reverse

from ancrage.demo.dossiers import EMPLOI_DOSSIER, SENIORS_1, SENIORS_2, VITRE_DOSSIER
from ancrage.dossiers.models import Dossier
from ancrage.organisations.enums import Role
from ancrage.organisations.models import Collectivite
from tests.demo_accounts import login
from tests.organisations.factories import MembershipFactory, UserFactory


def post_state(client, dossier, action, **data):
    return client.post(
        reverse("dossiers:transition", args=[dossier.pk]), {"action": action, "etat": dossier.etat, **data}
    )


def edit_data(dossier, **overrides):
    data = {
        "titre": dossier.titre,
        "presentation": dossier.presentation,
        "calendrier": dossier.calendrier,
        "supports-TOTAL_FORMS": "0",
        "supports-INITIAL_FORMS": "0",
    }
    for prefix, lines, fields in (
        ("charges", dossier.charges.all(), ("categorie", "libelle", "montant")),
        (
            "ressources",
            dossier.ressources.all(),
            ("categorie", "libelle", "montant", "contributeur", "type_contributeur"),
        ),
    ):
        lines = list(lines)
        data[f"{prefix}-TOTAL_FORMS"] = str(len(lines))
        data[f"{prefix}-INITIAL_FORMS"] = str(len(lines))
        for i, line in enumerate(lines):
            for name in fields:
                data[f"{prefix}-{i}-{name}"] = str(getattr(line, name))
    data.update(overrides)
    return data


def test_the_full_examination_in_the_browser(client, demo, mailoutbox, django_capture_on_commit_callbacks):
    dossier = Dossier.objects.get(titre=SENIORS_2)
    url = dossier.get_absolute_url()

    login(client, "animateur")
    html = client.get(url).content.decode()
    assert "Déposer le dossier" in html and "Le budget est à l’équilibre" in html
    with django_capture_on_commit_callbacks(execute=True):
        response = post_state(client, dossier, "deposer")
    assert response.status_code == 302
    dossier.refresh_from_db()
    assert dossier.etat == "en_construction"
    assert mailoutbox[-1].to == ["referent@demo.ancrage.fr"]

    login(client, "referent")
    inbox = client.get(reverse("dossiers:inbox")).content.decode()
    assert SENIORS_2 in inbox and SENIORS_1 in inbox and VITRE_DOSSIER not in inbox
    with django_capture_on_commit_callbacks(execute=True):
        post_state(
            client,
            dossier,
            "demander_correction",
            motif="incomplet",
            message="Joignez le devis des tablettes.",
        )
    dossier.refresh_from_db()
    assert dossier.open_correction() is not None
    assert mailoutbox[-1].to == ["animateur@demo.ancrage.fr", "responsable@demo.ancrage.fr"]
    client.post(
        reverse("dossiers:annotation_add", args=[dossier.pk]), {"texte": "Vérifier le devis (note interne)."}
    )

    login(client, "animateur")
    html = client.get(url).content.decode()
    assert "Joignez le devis des tablettes." in html and "note interne" not in html
    response = client.post(
        reverse("dossiers:edit", args=[dossier.pk]), edit_data(dossier, calendrier="Janvier 2027 (corrigé)")
    )
    assert response.status_code == 302, response.content.decode()
    # The action's signed convention and its proof file are already attached, by the platform.
    attached = dossier.pieces.count()
    assert attached == 2 and dossier.pieces.filter(nom__endswith="-signee.pdf", deposee_par=None).exists()
    client.post(
        reverse("dossiers:piece_add", args=[dossier.pk]),
        {"fichier": _upload("devis.pdf", b"%PDF-1.4 devis"), "description": "Devis"},
    )
    assert dossier.pieces.count() == attached + 1
    with django_capture_on_commit_callbacks(execute=True):
        post_state(client, dossier, "redeposer", message="Devis joint.")
    dossier.refresh_from_db()
    assert dossier.open_correction() is None and dossier.calendrier == "Janvier 2027 (corrigé)"

    login(client, "referent")
    post_state(client, dossier, "passer_en_instruction")
    dossier.refresh_from_db()
    decision_url = reverse("dossiers:decision", args=[dossier.pk])
    assert "Prévisualiser" in client.get(decision_url).content.decode()
    data = {"etat": "en_instruction", "decision": "accepter", "motivation": "Projet prioritaire (démo)."}
    preview = client.post(decision_url, {**data, "apercu": "1"})
    assert preview["Content-Type"] == "application/pdf" and preview.content.startswith(b"%PDF")
    dossier.refresh_from_db()
    assert dossier.etat == "en_instruction"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(decision_url, {**data, "envoyer": "1"})
    assert response.status_code == 302
    dossier.refresh_from_db()
    assert dossier.etat == "accepte"
    assert "Décision" in mailoutbox[-1].subject and "Projet prioritaire" in mailoutbox[-1].body

    html = client.get(url).content.decode()
    assert "Historique intact" in html and "Vérifier le devis" in html
    for label in (
        "Déposer le dossier",
        "Demander une correction",
        "Redéposer le dossier corrigé",
        "Accepter",
    ):
        assert label in html
    pdf = client.get(reverse("dossiers:pdf", args=[dossier.pk]))
    assert pdf.content.startswith(b"%PDF")
    attestation = client.get(reverse("dossiers:attestation", args=[dossier.pk]))
    assert attestation.content.startswith(b"%PDF")
    assert len(mailoutbox) == 4


def _upload(name, data):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


def test_an_animateur_creates_a_dossier_from_an_action(client, demo):
    login(client, "animateur")
    dossier = Dossier.objects.get(titre=EMPLOI_DOSSIER)
    action_url = dossier.action.get_absolute_url()
    assert reverse("dossiers:create", args=[dossier.action_id]) in client.get(action_url).content.decode()
    response = client.post(reverse("dossiers:create", args=[dossier.action_id]))
    new = Dossier.objects.exclude(pk=dossier.pk).filter(action=dossier.action).get()
    assert response["Location"] == reverse("dossiers:edit", args=[new.pk])
    assert client.get(response["Location"]).status_code == 200


def test_who_sees_what(client, demo):
    blosne = Dossier.objects.get(titre=EMPLOI_DOSSIER)
    brouillon = Dossier.objects.get(titre=SENIORS_2)
    vitre = Dossier.objects.get(titre=VITRE_DOSSIER)
    login(client, "animateur2")
    assert client.get(blosne.get_absolute_url()).status_code == 404
    assert client.get(vitre.get_absolute_url()).status_code == 200
    login(client, "partenaire")
    assert client.get(blosne.get_absolute_url()).status_code == 404
    assert EMPLOI_DOSSIER not in client.get(reverse("dossiers:list")).content.decode()
    login(client, "referent")
    assert client.get(brouillon.get_absolute_url()).status_code == 404  # a brouillon stays the EPN's
    assert client.get(vitre.get_absolute_url()).status_code == 404
    other = UserFactory()
    MembershipFactory(
        user=other, role=Role.REFERENT, structure=None, collectivite=Collectivite.objects.get(code="35360")
    )
    client.force_login(other)
    assert client.get(blosne.get_absolute_url()).status_code == 404
    assert client.get(reverse("dossiers:pdf", args=[blosne.pk])).status_code == 404
    login(client, "animateur")
    assert client.get(reverse("dossiers:decision", args=[blosne.pk])).status_code == 403


def test_inbox_filters_paginates_and_exports_safely(client, demo, django_assert_max_num_queries):
    Dossier.objects.filter(titre=EMPLOI_DOSSIER).update(titre='=HYPERLINK("http://x") (démo)')
    login(client, "referent")
    with django_assert_max_num_queries(12):
        html = client.get(reverse("dossiers:inbox")).content.decode()
    assert "Dossiers à instruire" in html
    html = client.get(reverse("dossiers:inbox"), {"etat": "accepte"}).content.decode()
    assert SENIORS_1 in html and "HYPERLINK" not in html
    html = client.get(reverse("dossiers:inbox"), {"thematique": "insertion et emploi"}).content.decode()
    assert "HYPERLINK" in html and SENIORS_1 not in html
    csv = client.get(reverse("dossiers:export", args=["csv"])).content.decode("utf-8-sig")
    assert "'=HYPERLINK" in csv and SENIORS_1 in csv
    xlsx = client.get(reverse("dossiers:export", args=["xlsx"]))
    assert client.get("/dossiers/export.pdf").status_code == 404  # only the two formats offered
    assert xlsx.content.startswith(b"PK")


def test_inbox_query_count_does_not_grow_with_dossiers(client, demo, django_assert_max_num_queries):
    login(client, "referent")
    source = Dossier.objects.get(titre=SENIORS_1)
    for i in range(30):
        Dossier.objects.create(
            action=source.action,
            structure=source.structure,
            titre=f"Dossier {i} (démo)",
            etat="en_instruction",
        )
    with django_assert_max_num_queries(12):
        response = client.get(reverse("dossiers:inbox"), {"page": 2})
    assert response.status_code == 200


def test_menu_entries(client, demo):
    login(client, "referent")
    assert "Dossiers à instruire" in client.get(reverse("home:index")).content.decode()
    login(client, "animateur")
    assert reverse("dossiers:list") in client.get(reverse("home:index")).content.decode()
