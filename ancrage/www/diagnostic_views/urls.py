from django.urls import path

from ancrage.www.diagnostic_views import views

app_name = "diagnostic"

urlpatterns = [
    path("", views.index, name="index"),
    path("comparer/", views.compare, name="compare"),
    path("modele-usagers.csv", views.modele_usagers, name="modele_usagers"),
    path("lieu/<int:structure_id>/", views.epn, name="epn"),
    path("lieu/<int:structure_id>/importer/<str:kind>/", views.import_file, name="import"),
    path("lieu/<int:structure_id>/calculer/", views.compute, name="compute"),
    path("lieu/<int:structure_id>/priorites/", views.priorites, name="priorites"),
    path("lieu/<int:structure_id>/secteurs/", views.secteurs, name="secteurs"),
    path("import/<int:pk>/", views.job, name="job"),
    path("frequentation/<int:pk>/usagers.csv", views.usagers_export, name="usagers_export"),
    path("frequentation/<int:pk>/supprimer/", views.frequentation_delete, name="frequentation_delete"),
    path("population/<int:pk>/", views.population, name="population"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/rapport.pdf", views.pdf, name="pdf"),
    path("<int:pk>/export.csv", views.export_csv, name="export_csv"),
    path("<int:pk>/export.xlsx", views.export_xlsx, name="export_xlsx"),
    path("<int:pk>/supprimer/", views.delete, name="delete"),
]
