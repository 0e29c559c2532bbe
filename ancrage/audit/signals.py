from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from ancrage.audit.enums import AuditAction
from ancrage.audit.services import audit_record


@receiver(user_logged_in)
def record_login(sender, request, user, **kwargs):
    audit_record(acting_user=user, action=AuditAction.LOGIN, obj=user)


@receiver(user_logged_out)
def record_logout(sender, request, user, **kwargs):
    if user is not None:
        audit_record(acting_user=user, action=AuditAction.LOGOUT, obj=user)


@receiver(user_login_failed)
def record_login_failure(sender, credentials, request=None, **kwargs):
    # Only the identifier typed, never the password.
    audit_record(
        acting_user=None,
        action=AuditAction.LOGIN_FAILED,
        changes={"identifiant": str(credentials.get("username", ""))[:254]},
    )
