"""``/sante/``, for load balancers: answered first in the middleware chain.

Before the security redirect, the host check, the session, the CSRF check, the login and the
second factor: a load balancer probing ``http://10.0.0.5/sante/`` gets its answer, and the probe
writes no session or audit entry. 200 with the parts' states when all answer, 503 naming the part
that failed (``ancrage.exploitation.sante``). ``GET`` and ``HEAD`` only; never cached.
"""

from django.http import HttpResponseNotAllowed, JsonResponse

from ancrage.exploitation import sante

PATH = "/sante/"


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info != PATH:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        healthy, parts = sante.report()
        response = JsonResponse(parts, status=200 if healthy else 503)
        response["Cache-Control"] = "no-store"
        response["X-Content-Type-Options"] = "nosniff"  # SecurityMiddleware, below, does not run
        return response
