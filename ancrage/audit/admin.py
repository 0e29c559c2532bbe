"""The audit trail in the admin: read only (it is append-only, and hash-chained)."""

from django.contrib import admin

from ancrage.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "actor_label", "action", "object_type", "object_repr", "structure", "origin")
    list_filter = ("action", "origin", "object_type")
    search_fields = ("actor_label", "object_repr", "object_id")
    list_select_related = ("structure",)
    date_hierarchy = "at"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in AuditEntry._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
