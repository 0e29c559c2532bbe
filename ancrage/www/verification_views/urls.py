from django.urls import path

from ancrage.www.verification_views import views

app_name = "verification"

urlpatterns = [path("", views.verifier, name="verifier")]
