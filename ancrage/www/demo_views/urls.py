from django.urls import path

from ancrage.www.demo_views import views

app_name = "demo"

urlpatterns = [
    path("courriels/", views.courriels, name="courriels"),
    path("courriels/<int:courriel>/pieces/<int:piece>/", views.piece_jointe, name="piece_jointe"),
]
