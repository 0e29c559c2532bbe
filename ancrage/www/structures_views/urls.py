from django.urls import path

from ancrage.www.structures_views import views

app_name = "structures"

urlpatterns = [
    path("", views.StructureListView.as_view(), name="list"),
    path("<int:pk>/", views.StructureDetailView.as_view(), name="detail"),
]
