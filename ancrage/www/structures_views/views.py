from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import DetailView, ListView

from ancrage.organisations.models import Structure
from ancrage.www.scoped import ScopedQuerysetMixin


class StructureListView(LoginRequiredMixin, ScopedQuerysetMixin, ListView):
    model = Structure
    paginate_by = 50
    template_name = "structures/list.html"
    extra_context = {"title": "Structures"}

    def get_queryset(self):
        return super().get_queryset().select_related("collectivite", "referencee_par")


class StructureDetailView(LoginRequiredMixin, ScopedQuerysetMixin, DetailView):
    model = Structure
    template_name = "structures/detail.html"

    def get_queryset(self):
        return super().get_queryset().select_related("collectivite", "referencee_par", "reseau")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = self.object.nom
        context["partenaires"] = (
            Structure.objects.visible_to(self.request.user).filter(referencee_par=self.object).order_by("nom")
        )
        return context
