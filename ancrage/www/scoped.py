"""What every page that reads records uses: the querysets come from the scoping mechanism."""

from ancrage.organisations.scoping import scope_for


class ScopedQuerysetMixin:
    """``get_queryset`` returns only the records the user may see; anything else is a 404."""

    model = None

    def get_queryset(self):
        return self.model.objects.visible_to(self.request.user)

    @property
    def scope(self):
        return scope_for(self.request.user)
