from django.contrib.auth import views as auth_views
from django.urls import path

from ancrage.www.accounts_views import views

app_name = "accounts"

urlpatterns = [
    path("", views.account, name="account"),
    path("jetons/<int:pk>/revoquer/", views.api_token_revoke, name="api-token-revoke"),
    path(
        "connexion/",
        auth_views.LoginView.as_view(template_name="accounts/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path("double-authentification/", views.second_factor, name="second-factor"),
    path("double-authentification/activer/", views.second_factor_enrol, name="second-factor-enrol"),
    path("mot-de-passe/oublie/", views.PasswordResetView.as_view(), name="password-reset"),
    path("mot-de-passe/envoye/", views.PasswordResetDoneView.as_view(), name="password-reset-done"),
    path(
        "mot-de-passe/nouveau/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password-reset-confirm",
    ),
    path("mot-de-passe/modifie/", views.PasswordResetCompleteView.as_view(), name="password-reset-complete"),
    path("invitations/", views.invitations, name="invitations"),
    path("invitations/<int:pk>/annuler/", views.invitation_revoke, name="invitation-revoke"),
    path("invitations/a-approuver/", views.approvals, name="approvals"),
    path("invitations/<int:pk>/approuver/", views.invitation_approve, name="invitation-approve"),
    path("invitations/<int:pk>/refuser/", views.invitation_refuse, name="invitation-refuse"),
    path("invitation/<str:token>/", views.invitation_accept, name="invitation-accept"),
]
