from django.urls import path, re_path

from ancrage.www.conventions_views import views

app_name = "conventions"

urlpatterns = [
    path("", views.convention_list, name="list"),
    path("nouvelle/", views.convention_create, name="create"),
    path("modeles/", views.modeles, name="modeles"),
    path("<int:pk>/", views.convention_detail, name="detail"),
    path("<int:pk>/modifier/", views.convention_update, name="update"),
    path("<int:pk>/generer/", views.convention_generate, name="generate"),
    path("<int:pk>/commentaires/", views.commentaire_add, name="commentaire_add"),
    path("<int:pk>/soumettre/", views.convention_submit, name="submit"),
    path("<int:pk>/retirer/", views.convention_withdraw, name="withdraw"),
    path("<int:pk>/decision/", views.convention_decide, name="decide"),
    path("<int:pk>/signer/", views.convention_sign, name="sign"),
    path("<int:pk>/refuser/", views.convention_refuse, name="refuse"),
    path("<int:pk>/deleguer/", views.convention_delegate, name="delegate"),
    re_path(
        r"^(?P<pk>[0-9]+)/preuve-tour-(?P<tour>[0-9]+)\.(?P<fmt>json|pdf)$",
        views.proof_download,
        name="proof",
    ),
    path("<int:pk>/historique/", views.convention_history, name="history"),
    path("<int:pk>/resilier/", views.convention_terminate, name="terminate"),
    path("<int:pk>/avenant/", views.avenant_create, name="avenant"),
    path("<int:pk>/convention-signee.pdf", views.signed_download, name="signed"),
    path("generations/<int:pk>/", views.job_detail, name="job"),
    re_path(
        r"^versions/(?P<pk>[0-9]+)/document\.(?P<fmt>docx|odt|pdf)$", views.version_download, name="download"
    ),
]
