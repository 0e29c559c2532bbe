"""Session rules that apply to every page: the idle timeout and the required second factor."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect, resolve_url
from django.urls import resolve, reverse
from django.urls.exceptions import Resolver404
from django.utils.http import urlencode

from ancrage.accounts.second_factor import confirmed_device, second_factor_required

LAST_SEEN_KEY = "ancrage_last_seen"
# Saving the session on every request would cost a write each time; a minute's precision is enough.
LAST_SEEN_RESOLUTION = 60

# The pages a signed-in person may reach before giving their second factor.
SECOND_FACTOR_EXEMPT = {
    "accounts:second-factor",
    "accounts:second-factor-enrol",
    "accounts:logout",
}


class IdleTimeoutMiddleware:
    """Logs out a session left idle longer than ``ANCRAGE_SESSION_IDLE_TIMEOUT`` seconds."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        timeout = settings.ANCRAGE_SESSION_IDLE_TIMEOUT
        if timeout and request.user.is_authenticated:
            now = int(time.time())
            last_seen = request.session.get(LAST_SEEN_KEY)
            if last_seen is not None and now - last_seen > timeout:
                logout(request)
                messages.info(request, "Votre session a expiré après une période d’inactivité.")
                login_url = resolve_url(settings.LOGIN_URL)
                return redirect(f"{login_url}?{urlencode({'next': request.get_full_path()})}")
            if last_seen is None or now - last_seen >= LAST_SEEN_RESOLUTION:
                request.session[LAST_SEEN_KEY] = now
        return self.get_response(request)


class SecondFactorMiddleware:
    """Sends a person who must use a second factor to enrol or enter their code first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and not user.is_verified() and second_factor_required(user):
            if not self._exempt(request):
                name = "accounts:second-factor" if confirmed_device(user) else "accounts:second-factor-enrol"
                return redirect_with_next(name, request.get_full_path())
        return self.get_response(request)

    @staticmethod
    def _exempt(request) -> bool:
        if request.path.startswith(settings.STATIC_URL):
            return True
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return True  # a 404 reveals nothing
        return match.view_name in SECOND_FACTOR_EXEMPT


def redirect_with_next(url_name: str, next_url: str):
    return redirect(f"{reverse(url_name)}?{urlencode({'next': next_url})}")
