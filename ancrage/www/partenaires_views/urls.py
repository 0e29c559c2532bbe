from django.urls import path

from ancrage.www.partenaires_views import views

app_name = "partenaires"

urlpatterns = [
    path("", views.partenaire_list, name="list"),
    path("nouveau/", views.partenaire_create, name="create"),
    path("<int:pk>/", views.partenaire_detail, name="detail"),
    path("<int:pk>/modifier/", views.partenaire_update, name="update"),
    path("<int:pk>/contacts/", views.contact_add, name="contact_add"),
    path("contacts/<int:pk>/supprimer/", views.contact_delete, name="contact_delete"),
    path("import/", views.import_upload, name="import"),
    path("import/<int:pk>/", views.import_preview, name="import_preview"),
    path("export/<int:epn_pk>.csv", views.export_csv, name="export_csv"),
    path("export/<int:epn_pk>-tableur.csv", views.export_tableur, name="export_tableur"),
    path("export/<int:epn_pk>.json", views.export_json, name="export_json"),
    path("lieu/<int:epn_pk>/", views.lieu_epn, name="lieu_epn"),
    path("lieu/<int:epn_pk>.csv", views.lieu_epn_csv, name="lieu_epn_csv"),
    path("lieu/<int:epn_pk>.json", views.lieu_epn_json, name="lieu_epn_json"),
]
