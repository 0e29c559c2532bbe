from django.conf import settings
from django.core.exceptions import ValidationError

# The password of the demo accounts, printed in the README. Production refuses it everywhere.
DEMO_PASSWORD = "demo-ancrage"


def demo_password_allowed() -> bool:
    return settings.ANCRAGE_ALLOW_DEMO_ACCOUNTS


class RefuseDemoPasswordValidator:
    """Production refuses the public demo password, whatever the account."""

    def validate(self, password, user=None):
        if password == DEMO_PASSWORD:
            raise ValidationError(
                "Ce mot de passe est celui, public, de la démonstration : il est refusé en production.",
                code="demo_password",
            )

    def get_help_text(self):
        return "Le mot de passe de la démonstration est refusé."
