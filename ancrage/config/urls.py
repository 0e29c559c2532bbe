from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("ancrage.www.home_views.urls")),
    path("compte/", include("ancrage.www.accounts_views.urls")),
    path("structures/", include("ancrage.www.structures_views.urls")),
    path("journal/", include("ancrage.www.journal_views.urls")),
    path("diagnostic/", include("ancrage.www.diagnostic_views.urls")),
    path("partenaires/", include("ancrage.www.partenaires_views.urls")),
    path("actions/", include("ancrage.www.actions_views.urls")),
    path("agenda/", include("ancrage.www.agenda_views.urls")),
    path("conventions/", include("ancrage.www.conventions_views.urls")),
    path("dossiers/", include("ancrage.www.dossiers_views.urls")),
    path("suivi/", include("ancrage.www.suivi_views.urls")),
    path("reseau/", include("ancrage.www.reseau_views.urls")),
    path("frequentation/", include("ancrage.www.frequentation_views.urls")),
    path("demo/", include("ancrage.www.demo_views.urls")),
    path("verifier/", include("ancrage.www.verification_views.urls")),
    path("territoire/", include("ancrage.www.territoire_views.urls")),
    path("api/", include("ancrage.www.api_views.urls")),
    path("admin/", admin.site.urls),
]
