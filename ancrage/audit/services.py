"""Recording the audit trail. Every service that writes something that matters calls
``audit_record`` inside its own transaction, so the entry exists if and only if the write does."""

from django.db import models
from django.utils import timezone

from ancrage.audit import chain, context
from ancrage.audit.enums import AuditAction
from ancrage.audit.models import AuditEntry


def _jsonable(value):
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def model_changes(instance, fields, before: dict) -> dict:
    """``{field: [old, new]}`` for the fields whose value changed since ``before``."""
    changes = {}
    for name in fields:
        new = _jsonable(getattr(instance, name))
        old = _jsonable(before.get(name))
        if old != new:
            changes[name] = [old, new]
    return changes


def snapshot(instance, fields) -> dict:
    return {name: getattr(instance, name) for name in fields}


def audit_record(
    *,
    acting_user,
    action: AuditAction,
    obj: models.Model | None = None,
    structure=None,
    changes: dict | None = None,
) -> AuditEntry:
    where = context.current()
    actor = acting_user if acting_user is not None and acting_user.is_authenticated else None
    return chain.append(
        at=timezone.now(),
        actor=actor,
        actor_label=actor.email if actor else "",
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        object_repr=str(obj)[:255] if obj is not None else "",
        structure=structure,
        changes={k: _jsonable(v) if not isinstance(v, dict) else v for k, v in (changes or {}).items()},
        ip_address=where.ip_address,
        origin=where.origin,
    )
