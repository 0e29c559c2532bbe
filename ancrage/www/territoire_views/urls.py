from django.urls import path

from ancrage.www.territoire_views import views

app_name = "territoire"

urlpatterns = [
    path("", views.index, name="index"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/priorites/", views.priorites, name="priorites"),
]
