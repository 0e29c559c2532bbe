"""The demo's conventions, rendered by every built-in model to DOCX: the financial clause agrees
with the budget and with the commitments (the co-financed seniors' convention states the
collectivité's subsidy; the two others are free and promise no financing)."""

from ancrage.conventions import financement, selectors
from ancrage.conventions.content import format_amount
from ancrage.conventions.documents import generate_docx
from ancrage.conventions.modeles import MODELS
from ancrage.conventions.models import Convention
from ancrage.demo.conventions import ECHEANCE, EN_VALIDATION, SIGNEE
from tests.conventions.test_documents import docx_text


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
    from django.urls import reverse

    from tests.demo_accounts import login

    convention = Convention.objects.get(titre=EN_VALIDATION)
    version = convention.versions.latest("numero")
    assert version.odt and len(version.odt_sha256) == 64
    login(client, "animateur")
    page = client.get(convention.get_absolute_url()).content.decode()
    assert reverse("conventions:download", args=[version.pk, "odt"]) in page
    response = client.get(reverse("conventions:download", args=[version.pk, "odt"]))
    assert response.status_code == 200 and b"".join(response.streaming_content)[:2] == b"PK"
    login(client, "animateur2")  # Vitré's EPN: not its convention
    assert client.get(reverse("conventions:download", args=[version.pk, "odt"])).status_code == 404
