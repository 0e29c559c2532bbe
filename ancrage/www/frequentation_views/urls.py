from django.urls import path

from ancrage.www.frequentation_views import views

app_name = "frequentation"

urlpatterns = [
    path("lieu/<int:structure_id>/usager/", views.usager, name="usager"),
]
