from django.urls import path

from ancrage.www.journal_views import views

app_name = "journal"

urlpatterns = [path("", views.journal, name="list")]
