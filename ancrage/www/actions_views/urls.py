from django.urls import path

from ancrage.www.actions_views import views

app_name = "actions"

urlpatterns = [
    path("", views.action_list, name="list"),
    path("nouvelle/", views.action_create, name="create"),
    path("<int:pk>/", views.action_detail, name="detail"),
    path("<int:pk>/modifier/", views.action_update, name="update"),
    path("<int:pk>/statut/", views.action_transition, name="transition"),
    path("<int:pk>/objectifs/", views.objectif_add, name="objectif_add"),
    path("objectifs/<int:pk>/supprimer/", views.objectif_delete, name="objectif_delete"),
    path("<int:pk>/seances/", views.seance_add, name="seance_add"),
    path("seances/<int:pk>/supprimer/", views.seance_delete, name="seance_delete"),
    path("<int:pk>/calendrier.ics", views.action_ics, name="ics"),
    path("<int:pk>/partenaires/", views.recommandations, name="recommandations"),
    path("<int:pk>/partenaires/ajouter/", views.partenaire_add, name="partenaire_add"),
    path("participations/<int:pk>/retirer/", views.partenaire_remove, name="partenaire_remove"),
    path("<int:pk>/taches/", views.matrice, name="matrice"),
    path("<int:pk>/budget/", views.budget, name="budget"),
    path("<int:pk>/reunions/nouvelle/", views.reunion_create, name="reunion_create"),
    path("<int:pk>/commentaires/", views.commentaire_add, name="commentaire_add"),
    path("reunions/<int:pk>/", views.reunion_detail, name="reunion"),
    path("reunions/<int:pk>/modifier/", views.reunion_update, name="reunion_update"),
    path("reunions/<int:pk>/decisions/", views.decision_add, name="decision_add"),
    path("reunions/<int:pk>/calendrier.ics", views.reunion_ics, name="reunion_ics"),
]
