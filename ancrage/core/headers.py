"""``Permissions-Policy`` on every response: Ancrage's pages use no camera, microphone, location,
payment or device API, so the browser is told to refuse them to the page and to any frame."""

from __future__ import annotations

from django.conf import settings


class PermissionsPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = settings.ANCRAGE_PERMISSIONS_POLICY
        if policy:
            response.headers.setdefault("Permissions-Policy", policy)
        return response
