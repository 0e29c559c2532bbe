"""The operators' admin of accounts: users (Django's), and the invitations, read-only (an
invitation is created, sent, accepted and approved through its pages and services; its nonce is
what the e-mailed link is checked against). « Annuler l’invitation » goes through
``invitation_revoke``, audited with the operator as author."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied, ValidationError

from ancrage.accounts import services
from ancrage.accounts.models import Invitation, User
from ancrage.core.wording import nombre

admin.site.site_header = "Administration d’Ancrage"
admin.site.site_title = "Administration d’Ancrage"
admin.site.index_title = "Exploitation"

admin.site.register(User, UserAdmin)


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = (
        "email",
        "role",
        "target",
        "sent_at",
        "expires_at",
        "accepted_at",
        "approved_at",
        "revoked_at",
    )
    list_filter = ("role",)
    search_fields = ("email",)
    list_select_related = ("structure", "collectivite", "reseau")
    exclude = ("nonce",)
    actions = ("revoke",)

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in Invitation._meta.fields if field.name != "nonce"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_revoke_permission(self, request):
        return request.user.is_superuser

    @admin.action(description="Annuler l’invitation (le lien ne fonctionne plus)", permissions=["revoke"])
    def revoke(self, request, queryset):
        count = 0
        for invitation in queryset:
            try:
                services.invitation_revoke(acting_user=request.user, invitation=invitation)
                count += 1
            except (PermissionDenied, ValidationError) as error:
                self.message_user(
                    request,
                    f"{invitation.email} : {' '.join(getattr(error, 'messages', None) or [str(error)])}",
                    messages.WARNING,
                )
        if count:
            self.message_user(request, f"{nombre(count, 'invitation annulée', 'invitations annulées')}.")
