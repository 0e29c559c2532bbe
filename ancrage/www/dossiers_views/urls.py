from django.urls import path, re_path

from ancrage.www.dossiers_views import views

app_name = "dossiers"

urlpatterns = [
    path("", views.dossier_list, name="list"),
    path("a-instruire/", views.dossier_list, {"inbox": True}, name="inbox"),
    re_path(r"^export\.(?P<fmt>csv|xlsx)$", views.dossier_export, name="export"),
    path("constituer/<int:action_pk>/", views.dossier_create, name="create"),
    path("<int:pk>/", views.dossier_detail, name="detail"),
    path("<int:pk>/modifier/", views.dossier_edit, name="edit"),
    path("<int:pk>/actualiser/", views.dossier_refresh, name="refresh"),
    path("<int:pk>/pieces/", views.piece_add, name="piece_add"),
    path("pieces/<int:pk>/", views.piece_download, name="piece"),
    path("pieces/<int:pk>/supprimer/", views.piece_delete, name="piece_delete"),
    path("<int:pk>/etat/", views.dossier_transition, name="transition"),
    path("<int:pk>/decision/", views.dossier_decision, name="decision"),
    path("<int:pk>/messages/", views.message_add, name="message_add"),
    path("<int:pk>/annotations/", views.annotation_add, name="annotation_add"),
    path("<int:pk>/dossier.pdf", views.dossier_pdf, name="pdf"),
    path("<int:pk>/attestation.pdf", views.attestation_pdf, name="attestation"),
]
