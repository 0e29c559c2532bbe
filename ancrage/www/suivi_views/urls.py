from django.urls import path

from ancrage.www.suivi_views import views

app_name = "suivi"

urlpatterns = [
    path("", views.index, name="index"),
    path("epn/<int:structure_id>/", views.tableau, name="tableau"),
    path("epn/<int:structure_id>/relance/", views.relance_defaut, name="relance_defaut"),
    path("epn/<int:structure_id>/bilan.pdf", views.bilan_pdf, name="bilan"),
    path("partenaires/<int:pk>/", views.partenaire, name="partenaire"),
    path("partenaires/<int:pk>/echanges/", views.echange_add, name="echange_add"),
    path("partenaires/<int:pk>/promotions/", views.promotion_add, name="promotion_add"),
    path("partenaires/<int:pk>/relance/", views.relance, name="relance"),
    path("echanges/<int:pk>/supprimer/", views.echange_delete, name="echange_delete"),
    path("promotions/<int:pk>/supprimer/", views.promotion_delete, name="promotion_delete"),
    path("actions/<int:pk>/", views.action, name="action"),
    path("actions/<int:pk>/evaluation/", views.evaluation, name="evaluation"),
    path("actions/<int:pk>/avant-apres/", views.avant_apres_compute, name="avant_apres"),
    path("seances/<int:pk>/feuille/", views.feuille, name="feuille"),
    path("seances/<int:pk>/import/", views.participation_import, name="import"),
]
