import pytest
from django.core.exceptions import ValidationError

from ancrage.accounts import services
from ancrage.accounts.models import User
from ancrage.audit.models import AuditEntry


def test_user_email_is_unique_case_insensitively(admin_user):
    user = services.user_create(acting_user=admin_user, email="Camille@Exemple.fr")
    assert user.email == user.username == "camille@exemple.fr"
    assert AuditEntry.objects.filter(action="create", object_id=str(user.pk)).exists()
    with pytest.raises(ValidationError):
        services.user_create(acting_user=admin_user, email="camille@exemple.fr ")
    assert User.objects.filter(email="camille@exemple.fr").count() == 1
