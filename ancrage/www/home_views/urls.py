from django.urls import path

from ancrage.www.home_views import views

app_name = "home"

urlpatterns = [path("", views.index, name="index")]
