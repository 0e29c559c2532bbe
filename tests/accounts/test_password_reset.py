"""Password reset by e-mail, with Django's views and French pages; the change is audited."""

import re

from django.core import mail
from django.urls import reverse

from ancrage.audit.models import AuditEntry
from tests.organisations.factories import UserFactory

NEW_PASSWORD = "encore une phrase de passe 2026"


def test_reset_by_email(client, db):
    user = UserFactory(email="camille@exemple.fr")
    page = client.get(reverse("accounts:password-reset"))
    assert "Mot de passe oublié" in page.content.decode()
    response = client.post(reverse("accounts:password-reset"), {"email": "camille@exemple.fr"})
    assert response["Location"] == reverse("accounts:password-reset-done")
    assert len(mail.outbox) == 1
    assert "choisir un nouveau mot de passe" in mail.outbox[0].body
    link = re.search(r"http://testserver(/compte/mot-de-passe/nouveau/[^\s]+/)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert "Nouveau mot de passe" in form_page.content.decode()
    response = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response["Location"] == reverse("accounts:password-reset-complete")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    entry = AuditEntry.objects.get(object_type="accounts.user", changes__mot_de_passe="modifié")
    assert NEW_PASSWORD not in str(entry.changes)
    # The link works once.
    assert "pas valide" in client.get(link, follow=True).content.decode()


def test_unknown_address_reveals_nothing(client, db):
    response = client.post(reverse("accounts:password-reset"), {"email": "personne@exemple.fr"})
    assert response["Location"] == reverse("accounts:password-reset-done")
    assert mail.outbox == []


def test_login_page_links_to_the_reset(client, db):
    assert reverse("accounts:password-reset") in client.get(reverse("accounts:login")).content.decode()
