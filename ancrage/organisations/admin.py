"""The operators' admin of organisations and memberships: every write goes through the services
(``organisations.services``), which check the invariants and write the audit entry with the
operator as author. Nothing is deleted here: a structure, a collectivité or a réseau holds
records (and the append-only journal points at them); a membership is deactivated, not deleted."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from ancrage.audit.enums import AuditAction
from ancrage.audit.services import audit_record, model_changes, snapshot
from ancrage.core.wording import nombre
from ancrage.organisations import permissions, services
from ancrage.organisations.models import Collectivite, Membership, Reseau, Structure


class NoDelete:
    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Reseau)
class ReseauAdmin(NoDelete, admin.ModelAdmin):
    list_display = ("nom", "created_at")
    search_fields = ("nom",)

    def save_model(self, request, obj, form, change):
        if not change:
            created = services.reseau_create(acting_user=request.user, nom=obj.nom)
            obj.pk = created.pk
            return
        before = snapshot(Reseau.objects.get(pk=obj.pk), ["nom"])
        obj.save()
        audit_record(
            acting_user=request.user,
            action=AuditAction.UPDATE,
            obj=obj,
            changes=model_changes(obj, ["nom"], before),
        )


@admin.register(Collectivite)
class CollectiviteAdmin(NoDelete, admin.ModelAdmin):
    """A collectivité is its COG code: its name comes from the COG, and neither changes after."""

    list_display = ("nom", "type", "code", "reseau")
    list_filter = ("type", "reseau")
    search_fields = ("nom", "code")
    fields = ("reseau", "type", "code", "nom")

    def get_readonly_fields(self, request, obj=None):
        return ("reseau", "type", "code", "nom") if obj else ("nom",)

    def save_model(self, request, obj, form, change):
        if change:
            return  # nothing editable
        created = services.collectivite_create(
            acting_user=request.user, reseau=obj.reseau, type=obj.type, code=obj.code
        )
        obj.pk, obj.nom = created.pk, created.nom


class StructureForm(forms.ModelForm):
    class Meta:
        model = Structure
        fields = ("reseau", "kind", *services.STRUCTURE_FIELDS)

    def _post_clean(self):
        super()._post_clean()
        try:
            services.check_structure(self.instance)  # the services' own rules, shown on the form
        except ValidationError as error:
            self._update_errors(error)


@admin.register(Structure)
class StructureAdmin(NoDelete, admin.ModelAdmin):
    form = StructureForm
    list_display = ("nom", "kind", "reseau", "collectivite", "code_commune")
    list_filter = ("kind", "reseau")
    search_fields = ("nom", "siret", "code_commune")
    list_select_related = ("reseau", "collectivite")
    autocomplete_fields = ("referencee_par",)

    def get_readonly_fields(self, request, obj=None):
        # An EPN's records (actions, diagnostics, conventions) do not follow it into another
        # réseau or another nature.
        return ("reseau", "kind") if obj else ()

    def save_model(self, request, obj, form, change):
        values = {
            name: form.cleaned_data[name] for name in services.STRUCTURE_FIELDS if name in form.cleaned_data
        }
        if change:
            current = Structure.objects.get(pk=obj.pk)
            values.pop("kind", None)
            services.structure_update(acting_user=request.user, structure=current, **values)
            return
        values.pop("kind", None)
        created = services.structure_create(
            acting_user=request.user,
            reseau=form.cleaned_data["reseau"],
            kind=form.cleaned_data["kind"],
            **values,
        )
        obj.pk = created.pk


class MembershipForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ("user", "role", "structure", "collectivite", "reseau", "is_active")

    def clean(self):
        data = super().clean()
        target = data.get("structure") or data.get("collectivite") or data.get("reseau")
        if not self.instance.pk and data.get("role") and target is not None:
            error = permissions.role_target_error(data["role"], target)
            if error:
                raise ValidationError(error)
        return data


@admin.register(Membership)
class MembershipAdmin(NoDelete, admin.ModelAdmin):
    """A role is given (``membership_grant``) or withdrawn (``membership_revoke``); its person,
    role and organisation never change afterwards (give another one instead)."""

    form = MembershipForm
    list_display = ("user", "role", "structure", "collectivite", "reseau", "is_active")
    list_filter = ("role", "is_active")
    search_fields = ("user__email", "structure__nom", "collectivite__nom", "reseau__nom")
    list_select_related = ("user", "structure", "collectivite", "reseau")
    autocomplete_fields = ("user", "structure")
    actions = ("withdraw",)

    def get_readonly_fields(self, request, obj=None):
        return ("user", "role", "structure", "collectivite", "reseau") if obj else ()

    def save_model(self, request, obj, form, change):
        if change:
            current = Membership.objects.get(pk=obj.pk)
            if current.is_active and not obj.is_active:
                services.membership_revoke(acting_user=request.user, membership=current)
            elif obj.is_active and not current.is_active:
                target = current.structure or current.collectivite or current.reseau
                services.membership_grant(
                    acting_user=request.user, user=current.user, role=current.role, target=target
                )
            return
        target = obj.structure or obj.collectivite or obj.reseau
        created = services.membership_grant(
            acting_user=request.user, user=obj.user, role=obj.role, target=target
        )
        obj.pk = created.pk

    @admin.action(description="Retirer le rôle (désactiver l’appartenance)")
    def withdraw(self, request, queryset):
        count = 0
        for membership in queryset.filter(is_active=True):
            services.membership_revoke(acting_user=request.user, membership=membership)
            count += 1
        self.message_user(
            request, f"{nombre(count, 'appartenance désactivée', 'appartenances désactivées')}."
        )
