from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from ancrage.accounts import services
from ancrage.accounts.models import ApiToken, Invitation, User
from ancrage.accounts.second_factor import (
    confirmed_device,
    key_base32,
    qr_code_data_uri,
    second_factor_required,
)
from ancrage.audit.middleware import client_ip
from ancrage.core import ratelimit
from ancrage.www.accounts_views.forms import (
    ApiTokenForm,
    DsfrPasswordResetForm,
    DsfrSetPasswordForm,
    InvitationAcceptForm,
    InvitationForm,
    SecondFactorForm,
)
from ancrage.www.forms import add_validation_error
from ancrage.www.messages import flash_errors


def lockout(request, original_response=None, credentials=None):
    """What django-axes shows once an e-mail, or an address, has failed too often (HTTP 429)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return render(
        request,
        "accounts/lockout.html",
        {"title": "Connexion temporairement bloquée", "minutes": minutes},
        status=429,
    )


def _next_url(request, default="home:index") -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(default)


# Second factor ------------------------------------------------------------------------------


@login_required
def second_factor(request):
    """Enter the code of the authenticator app, after the password."""
    if request.user.is_verified() or not second_factor_required(request.user):
        return HttpResponseRedirect(_next_url(request))
    device = confirmed_device(request.user)
    if device is None:
        return redirect(
            f"{reverse('accounts:second-factor-enrol')}?{urlencode({'next': _next_url(request)})}"
        )
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            otp_login(request, device)
            return HttpResponseRedirect(_next_url(request))
        form.add_error(
            "token", "Ce code n’est pas valide, ou il a expiré. Saisissez le code affiché maintenant."
        )
    return render(
        request,
        "accounts/second_factor.html",
        {"title": "Double authentification", "form": form, "next": _next_url(request)},
    )


@login_required
def second_factor_enrol(request):
    """Enrol an authenticator app: scan the QR code (drawn here, no outside service), enter a code."""
    if confirmed_device(request.user) is not None:
        return redirect(f"{reverse('accounts:second-factor')}?{urlencode({'next': _next_url(request)})}")
    device = services.totp_device_start(acting_user=request.user)
    form = SecondFactorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if services.totp_device_confirm(
            acting_user=request.user, device=device, token=form.cleaned_data["token"]
        ):
            device.refresh_from_db()
            otp_login(request, device)
            messages.success(request, "La double authentification est activée pour votre compte.")
            return HttpResponseRedirect(_next_url(request))
        form.add_error("token", "Ce code n’est pas valide. Vérifiez l’heure de votre téléphone et réessayez.")
    return render(
        request,
        "accounts/second_factor_enrol.html",
        {
            "title": "Activer la double authentification",
            "form": form,
            "qr_code": qr_code_data_uri(device),
            "key": key_base32(device),
            "next": _next_url(request),
        },
    )


# Password reset by e-mail (Django's views, French DSFR templates) ---------------------------


class PasswordResetView(auth_views.PasswordResetView):
    form_class = DsfrPasswordResetForm
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/emails/password_reset.txt"
    subject_template_name = "accounts/emails/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password-reset-done")
    extra_context = {"title": "Mot de passe oublié"}

    def form_valid(self, form):
        # Every request counts, whether an account has this address or not: the refusal says
        # nothing about the account.
        keys = [f"email:{form.cleaned_data['email'].strip().lower()}", f"ip:{client_ip(self.request)}"]
        if not ratelimit.allow(
            "password-reset",
            keys,
            limit=settings.ANCRAGE_PASSWORD_RESET_LIMIT,
            window=settings.ANCRAGE_PASSWORD_RESET_WINDOW_MINUTES * 60,
        ):
            form.add_error(
                None,
                "Trop de demandes de nouveau mot de passe ont été faites. Si un compte correspond à "
                "cette adresse, un message lui a déjà été envoyé : consultez votre messagerie, ou "
                f"réessayez dans {settings.ANCRAGE_PASSWORD_RESET_WINDOW_MINUTES} minutes.",
            )
            response = self.form_invalid(form)
            response.status_code = 429
            return response
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"
    extra_context = {"title": "Message envoyé"}


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = DsfrSetPasswordForm
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password-reset-complete")
    extra_context = {"title": "Nouveau mot de passe"}

    def form_valid(self, form):
        # Through the service, so that the change is audited; then Django's own cleanup.
        services.user_password_set(acting_user=self.user, user=self.user, form=form)
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        return HttpResponseRedirect(self.get_success_url())


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
    extra_context = {"title": "Mot de passe modifié"}


# Invitations --------------------------------------------------------------------------------


@login_required
def invitations(request):
    """Invite someone, and follow the invitations sent to the organisations one oversees."""
    if not services.may_manage_invitations(request.user):
        raise PermissionDenied
    form = InvitationForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        role, target = form.cleaned_data["cible"]
        try:
            invitation = services.invitation_create(
                acting_user=request.user,
                email=form.cleaned_data["email"],
                role=role,
                target=target,
                site_url=request.build_absolute_uri("/"),
            )
        except ValidationError as error:
            add_validation_error(form, error)
        else:
            messages.success(request, f"L’invitation a été envoyée à {invitation.email}.")
            return redirect("accounts:invitations")
    listing = Invitation.objects.visible_to(request.user).select_related(
        "structure", "collectivite", "reseau", "invited_by"
    )[:200]
    return render(
        request,
        "accounts/invitations.html",
        {"title": "Invitations", "form": form, "invitations": listing},
    )


@login_required
@require_POST
def invitation_revoke(request, pk):
    invitation = get_object_or_404(Invitation.objects.visible_to(request.user), pk=pk)
    try:
        services.invitation_revoke(acting_user=request.user, invitation=invitation)
    except ValidationError as error:
        flash_errors(request, error)
    else:
        messages.success(request, f"L’invitation de {invitation.email} est annulée.")
    return redirect("accounts:invitations")


def invitation_accept(request, token):
    """The page the invitation link opens: choose a password, or accept with one's account."""
    try:
        invitation = services.invitation_from_token(token)
    except services.InvitationInvalid as error:
        return render(
            request,
            "accounts/invitation_invalid.html",
            {"title": "Invitation", "message": str(error)},
            status=404,
        )
    context = {"title": "Rejoindre Ancrage", "invitation": invitation}
    existing = User.objects.filter(email=invitation.email).exists()
    if request.user.is_authenticated and request.user.email != invitation.email:
        context["other_account"] = True
        return render(request, "accounts/invitation_accept.html", context)
    if existing:
        if not request.user.is_authenticated:
            context["login_url"] = f"{reverse('accounts:login')}?{urlencode({'next': request.path})}"
            return render(request, "accounts/invitation_accept.html", context)
        if request.method == "POST":
            services.invitation_accept(
                invitation=invitation, user=request.user, site_url=request.build_absolute_uri("/")
            )
            _joined_message(request, invitation)
            return redirect("home:index")
        context["confirm_only"] = True
        return render(request, "accounts/invitation_accept.html", context)
    form = InvitationAcceptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(
                invitation=invitation,
                password=form.cleaned_data["password1"],
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                site_url=request.build_absolute_uri("/"),
            )
        except ValidationError as error:
            form.add_error("password1", error)
        else:
            login(request, user, backend="ancrage.accounts.backends.EmailBackend")
            _joined_message(request, invitation, welcome=True)
            return redirect("home:index")
    context["form"] = form
    return render(request, "accounts/invitation_accept.html", context)


def _joined_message(request, invitation, *, welcome=False):
    """What the invitee reads once they accepted: the role, or that it awaits approval."""
    invitation.refresh_from_db(fields=["accepted_at", "approved_at", "refused_at"])
    prefix = "Bienvenue ! Votre compte est créé. " if welcome else ""
    if invitation.is_awaiting_approval:
        messages.info(
            request,
            f"{prefix}Votre accès « {invitation.get_role_display()} » à « {invitation.target} » "
            "attend l’approbation de l’organisation : vous serez rattaché·e dès qu’elle l’aura donnée.",
        )
    elif welcome:
        messages.success(request, f"{prefix}Il est rattaché à « {invitation.target} ».")
    else:
        messages.success(request, f"Vous avez rejoint « {invitation.target} ».")


# Approvals ----------------------------------------------------------------------------------


@login_required
def approvals(request):
    """The accesses one may approve, and one's own accesses awaiting approval."""
    return render(
        request,
        "accounts/approvals.html",
        {
            "title": "Accès à approuver",
            "approvals": services.approvals_for(request.user),
            "awaiting": services.awaiting_for(request.user),
        },
    )


def _decide(request, pk, decide, done: str):
    invitation = get_object_or_404(services.approvals_for(request.user), pk=pk)
    try:
        decide(acting_user=request.user, invitation=invitation)
    except ValidationError as error:
        flash_errors(request, error)
    else:
        messages.success(request, f"L’accès de {invitation.email} à « {invitation.target} » est {done}.")
    return redirect("accounts:approvals")


@login_required
@require_POST
def invitation_approve(request, pk):
    return _decide(request, pk, services.invitation_approve, "approuvé")


@login_required
@require_POST
def invitation_refuse(request, pk):
    return _decide(request, pk, services.invitation_refuse, "refusé")


# The account page and its API tokens ----------------------------------------------------------


def _account_page(request, form, secret=None, created=None):
    memberships = (
        request.user.memberships.active()
        .select_related("structure", "collectivite", "reseau")
        .order_by("role", "id")
    )
    return render(
        request,
        "accounts/account.html",
        {
            "title": "Mon compte",
            "memberships": memberships,
            "form": form,
            "tokens": ApiToken.objects.filter(user=request.user, revoked_at__isnull=True),
            "secret": secret,
            "created": created,
        },
    )


@login_required
@never_cache
def account(request):
    """Who one is, and one's API tokens: create one (its secret shown once, on this response
    only, never stored) or revoke one. Only a signed-in session reaches this page: the API's
    tokens authenticate nothing here, so a token cannot create tokens."""
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        days = int(form.cleaned_data["duree"])
        expires_at = timezone.now() + timezone.timedelta(days=days) if days else None
        try:
            token, secret = services.api_token_create(
                acting_user=request.user, nom=form.cleaned_data["nom"], expires_at=expires_at
            )
        except ValidationError as error:
            add_validation_error(form, error)
        else:
            return _account_page(request, ApiTokenForm(), secret=secret, created=token)
    return _account_page(request, form)


@login_required
@require_POST
def api_token_revoke(request, pk):
    token = get_object_or_404(ApiToken.objects.filter(user=request.user), pk=pk)
    services.api_token_revoke(acting_user=request.user, token=token)
    messages.success(request, f"Le jeton « {token.nom} » est révoqué : il ne donne plus accès à l’API.")
    return redirect("accounts:account")
