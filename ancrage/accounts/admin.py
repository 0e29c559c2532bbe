"""The operators' admin of accounts: users (Django's), and the invitations, read-only (an
invitation is created, sent, accepted and approved through its pages and services; its nonce is
what the e-mailed link is checked against). « Annuler l’invitation » goes through
``invitation_revoke``, audited with the operator as author; so is every account an operator
creates or changes."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied, ValidationError

from ancrage.accounts import services
from ancrage.accounts.models import Invitation, User
from ancrage.audit.enums import AuditAction
from ancrage.audit.services import audit_record, model_changes, snapshot
from ancrage.core.wording import nombre

admin.site.site_header = "Administration d’Ancrage"
admin.site.site_title = "Administration d’Ancrage"
admin.site.index_title = "Exploitation"

# What an operator changes on an account, for the audit entry (a password only as « modifié »).
AUDITED_USER_FIELDS = (
    "email",
    "username",
    "first_name",
    "last_name",
    "is_active",
    "is_staff",
    "is_superuser",
)


@admin.register(User)
class AuditedUserAdmin(UserAdmin):
    """Django's user admin, with an audit entry (the operator as author) for each account created
    or changed: giving someone staff or superuser rights leaves a trace."""

    def save_model(self, request, obj, form, change):
        before = snapshot(User.objects.get(pk=obj.pk), AUDITED_USER_FIELDS) if change else {}
        super().save_model(request, obj, form, change)
        changes = model_changes(obj, AUDITED_USER_FIELDS, before)
        if "password" in form.changed_data or "password1" in form.changed_data:
            changes["password"] = "modifié"
        if changes or not change:
            audit_record(
                acting_user=request.user,
                action=AuditAction.UPDATE if change else AuditAction.CREATE,
                obj=obj,
                changes=changes,
            )

    def save_related(self, request, form, formsets, change):
        before = (
            set(form.instance.groups.values_list("pk", flat=True)),
            set(form.instance.user_permissions.values_list("pk", flat=True)),
        )
        super().save_related(request, form, formsets, change)
        after = (
            set(form.instance.groups.values_list("pk", flat=True)),
            set(form.instance.user_permissions.values_list("pk", flat=True)),
        )
        if before != after:
            audit_record(
                acting_user=request.user,
                action=AuditAction.UPDATE,
                obj=form.instance,
                changes={"groupes": sorted(after[0]), "permissions": sorted(after[1])},
            )


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
