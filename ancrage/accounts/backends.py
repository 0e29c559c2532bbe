from django.contrib.auth.backends import ModelBackend

from ancrage.accounts.validators import DEMO_PASSWORD, demo_password_allowed


class EmailBackend(ModelBackend):
    """Django's backend, with the e-mail as username (case-insensitive).

    When demo accounts are not allowed (production), the public demo password never logs anyone
    in, even if an account was created with it before the settings changed.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if password == DEMO_PASSWORD and not demo_password_allowed():
            return None
        if username:
            username = username.strip().lower()
        return super().authenticate(request, username=username, password=password, **kwargs)


def axes_username(request, credentials) -> str:
    """The identifier django-axes counts failures for: the e-mail as the backend reads it."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    return str(username).strip().lower()
