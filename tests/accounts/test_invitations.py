"""Accounts are created by invitation only: a signed, expiring link, audited at every step."""

import re
from datetime import timedelta

import pytest
from django.core import mail, signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from ancrage.accounts import services
from ancrage.accounts.models import Invitation, User
from ancrage.accounts.validators import DEMO_PASSWORD
from ancrage.audit.models import AuditEntry
from ancrage.organisations.enums import Role
from ancrage.organisations.models import Collectivite, Membership, Reseau, Structure
from tests.organisations.factories import ReseauFactory, StructureFactory

pytestmark = pytest.mark.demo(conventions=False)  # the demo's conventions are not read here

SITE = "http://testserver/"
NEW_PASSWORD = "une phrase de passe solide 2026"


def user(email):
    return User.objects.get(email=email)


def blosne():
    return Structure.objects.get(nom="EPN du Blosne (démo)")


def _link(message) -> str:
    return re.search(r"http://testserver(/compte/invitation/[^\s]+/)", message.body).group(1)


def test_responsable_invites_to_their_epn_and_its_partners_only(demo):
    pairs = services.invitable_targets(user("responsable@demo.ancrage.fr"))
    targets = {(role.value, str(target)) for role, target in pairs}
    assert ("animateur", "EPN du Blosne (démo)") in targets
    assert ("responsable", "EPN du Blosne (démo)") in targets
    assert ("partenaire", "Centre social Ty-Blosne (démo)") in targets
    assert not any("Vitré" in name for _, name in targets)
    assert not any(role in {"referent", "elu", "coordinateur"} for role, _ in targets)


def test_coordinateur_invites_to_the_structures_and_collectivites_of_their_reseau(demo):
    other = StructureFactory(reseau=ReseauFactory(), nom="EPN d’un autre réseau")
    pairs = services.invitable_targets(user("coordinateur@demo.ancrage.fr"))
    targets = {(role.value, str(target)) for role, target in pairs}
    assert ("referent", "Rennes Métropole") in targets
    assert ("elu", "Vitré") in targets
    assert ("animateur", "Espace numérique de Vitré (démo)") in targets
    assert ("partenaire", "Association Vitré Entraide (démo)") in targets
    assert not any(name == other.nom for _, name in targets)
    assert not any(role == "coordinateur" for role, _ in targets)


@pytest.mark.parametrize(
    "email",
    [
        "animateur@demo.ancrage.fr",
        "referent@demo.ancrage.fr",
        "elu@demo.ancrage.fr",
        "partenaire@demo.ancrage.fr",
    ],
)
def test_other_roles_cannot_invite(demo, email):
    assert services.invitable_targets(user(email)) == []
    with pytest.raises(PermissionDenied):
        services.invitation_create(
            acting_user=user(email), email="x@exemple.fr", role=Role.ANIMATEUR, target=blosne(), site_url=SITE
        )


def test_a_responsable_cannot_invite_to_another_epn(demo):
    vitre = Structure.objects.get(nom="Espace numérique de Vitré (démo)")
    with pytest.raises(PermissionDenied):
        services.invitation_create(
            acting_user=user("responsable@demo.ancrage.fr"),
            email="x@exemple.fr",
            role=Role.ANIMATEUR,
            target=vitre,
            site_url=SITE,
        )


def test_role_and_organisation_must_match(demo):
    with pytest.raises(ValidationError):
        services.invitation_create(
            acting_user=user("coordinateur@demo.ancrage.fr"),
            email="x@exemple.fr",
            role=Role.REFERENT,
            target=blosne(),
            site_url=SITE,
        )


def test_full_invitation_flow_through_the_pages(client, demo, django_capture_on_commit_callbacks):
    assert client.login(username="responsable@demo.ancrage.fr", password=DEMO_PASSWORD)
    page = client.get(reverse("accounts:invitations"))
    assert page.status_code == 200
    value = f"animateur:structure:{blosne().pk}"
    assert value in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("accounts:invitations"), {"email": "Nouvelle@Exemple.fr", "cible": value}
        )
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["nouvelle@exemple.fr"]
    assert "Animateur·rice" in mail.outbox[0].body
    link = _link(mail.outbox[0])
    client.logout()

    page = client.get(link)
    assert page.status_code == 200
    assert "Créer mon compte" in page.content.decode()
    # The password validators apply.
    weak = client.post(
        link, {"first_name": "Nina", "last_name": "Le Bihan", "password1": "court", "password2": "court"}
    )
    assert weak.status_code == 200
    assert not User.objects.filter(email="nouvelle@exemple.fr").exists()
    response = client.post(
        link,
        {"first_name": "Nina", "last_name": "Le Bihan", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    newcomer = User.objects.get(email="nouvelle@exemple.fr")
    assert newcomer.check_password(NEW_PASSWORD)
    assert Membership.objects.filter(
        user=newcomer, role=Role.ANIMATEUR, structure=blosne(), is_active=True
    ).exists()
    assert client.get(reverse("home:index")).status_code == 200  # signed in

    # The link is single-use.
    client.logout()
    assert client.get(link).status_code == 404

    invitation = Invitation.objects.get(email="nouvelle@exemple.fr")
    steps = list(
        AuditEntry.objects.filter(object_type="accounts.invitation", object_id=str(invitation.pk))
        .order_by("id")
        .values_list("changes__invitation", flat=True)
    )
    assert steps == ["envoyée", "acceptée"]
    assert AuditEntry.objects.filter(object_type="accounts.user", object_id=str(newcomer.pk)).exists()
    assert AuditEntry.objects.filter(
        object_type="organisations.membership", changes__utilisateur=newcomer.email
    ).exists()


def _invite(
    acting="responsable@demo.ancrage.fr", email="invitee@exemple.fr", role=Role.ANIMATEUR, target=None
):
    return services.invitation_create(
        acting_user=user(acting), email=email, role=role, target=target or blosne(), site_url=SITE
    )


def test_sending_again_replaces_the_link(demo):
    first = _invite()
    old_token = services.invitation_token(first)
    again = _invite()
    assert again.pk == first.pk
    with pytest.raises(services.InvitationInvalid, match="plus récente"):
        services.invitation_from_token(old_token)
    assert services.invitation_from_token(services.invitation_token(again)).pk == first.pk


def test_expired_revoked_and_forged_links_open_nothing(demo, settings):
    invitation = _invite()
    token = services.invitation_token(invitation)
    with pytest.raises(services.InvitationInvalid, match="pas valide"):
        services.invitation_from_token(token[:-2] + "xx")
    forged = signing.dumps({"i": invitation.pk, "n": "0" * 32}, salt="autre", compress=True)
    with pytest.raises(services.InvitationInvalid):
        services.invitation_from_token(forged)
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(services.InvitationInvalid, match="expiré"):
        services.invitation_from_token(token)
    settings.ANCRAGE_INVITATION_MAX_AGE = -1
    with pytest.raises(services.InvitationInvalid, match="expiré"):
        services.invitation_from_token(token)


def test_revoke(client, demo):
    invitation = _invite()
    assert client.login(username="responsable@demo.ancrage.fr", password=DEMO_PASSWORD)
    response = client.post(reverse("accounts:invitation-revoke", kwargs={"pk": invitation.pk}))
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.status == "révoquée"
    with pytest.raises(services.InvitationInvalid, match="annulée"):
        services.invitation_from_token(services.invitation_token(invitation))
    assert AuditEntry.objects.filter(
        object_type="accounts.invitation", changes__invitation="annulée"
    ).exists()


def test_another_epn_cannot_see_or_revoke_an_invitation(client, demo):
    invitation = _invite()
    assert client.login(username="animateur2@demo.ancrage.fr", password=DEMO_PASSWORD)
    assert client.post(reverse("accounts:invitation-revoke", kwargs={"pk": invitation.pk})).status_code == 404
    assert client.get(reverse("accounts:invitations")).status_code == 403


def test_existing_account_accepts_while_signed_in(client, demo):
    vitre = Collectivite.objects.get(nom="Vitré")
    invitation = _invite(
        acting="coordinateur@demo.ancrage.fr",
        email="referent@demo.ancrage.fr",
        role=Role.REFERENT,
        target=vitre,
    )
    link = reverse("accounts:invitation-accept", kwargs={"token": services.invitation_token(invitation)})
    assert "Se connecter" in client.get(link).content.decode()
    assert client.login(username="referent@demo.ancrage.fr", password=DEMO_PASSWORD)
    response = client.post(link, follow=True)
    assert "attend l’approbation" in response.content.decode()
    # A collectivité's role waits for the collectivité (or the operator) to approve it.
    assert not Membership.objects.filter(user__email="referent@demo.ancrage.fr", collectivite=vitre).exists()
    operator = User.objects.create_superuser(email="ops@exemple.fr", username="ops@exemple.fr", password=None)
    services.invitation_approve(acting_user=operator, invitation=invitation)
    assert Membership.objects.filter(user__email="referent@demo.ancrage.fr", collectivite=vitre).exists()


def test_someone_already_holding_the_role_is_not_invited(demo):
    with pytest.raises(ValidationError):
        _invite(email="animateur@demo.ancrage.fr")


def test_the_page_says_why_someone_already_holding_the_role_is_not_invited(client, demo):
    assert client.login(username="responsable@demo.ancrage.fr", password=DEMO_PASSWORD)
    response = client.post(
        reverse("accounts:invitations"),
        {"email": "animateur@demo.ancrage.fr", "cible": f"animateur:structure:{blosne().pk}"},
    )
    assert response.status_code == 200
    assert "Cette personne a déjà ce rôle dans cette organisation." in response.content.decode()
    assert not mail.outbox


def test_no_open_sign_up(client, db):
    # No page creates an account without an invitation: the only user-creating view needs a token.
    assert Reseau.objects.count() == 0
    assert client.get("/compte/inscription/").status_code == 404
    assert (
        client.get(reverse("accounts:invitation-accept", kwargs={"token": "nimporte-quoi"})).status_code
        == 404
    )
