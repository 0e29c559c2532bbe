from django.conf import settings

from ancrage.audit import context
from ancrage.audit.enums import AuditOrigin


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or X-Forwarded-For behind the configured proxies only."""
    proxies = settings.ANCRAGE_TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR") or None


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = context.set_current(
            context.WriteContext(origin=AuditOrigin.WEB, ip_address=client_ip(request))
        )
        try:
            return self.get_response(request)
        finally:
            context.reset(token)
