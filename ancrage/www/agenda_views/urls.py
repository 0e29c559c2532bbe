from django.urls import path

from ancrage.www.agenda_views import views

app_name = "agenda"

urlpatterns = [
    path("", views.gerer, name="gerer"),
    path("<int:pk>/regenerer/", views.regenerer, name="regenerer"),
    path("<int:pk>/desactiver/", views.desactiver, name="desactiver"),
    # The subscribed address: no login (a calendar client cannot log in), the key is the secret.
    path("flux/<int:pk>/<slug:cle>.ics", views.flux, name="flux"),
]
