from django.urls import path

from ancrage.www.reseau_views import views

app_name = "reseau"

urlpatterns = [
    path("", views.tableau, name="tableau"),
    path("export.<str:fmt>", views.export, name="export"),
    path("bilan.pdf", views.bilan_pdf, name="bilan"),
]
