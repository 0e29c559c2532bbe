import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ancrage.config.settings.prod")

application = get_wsgi_application()
# Import every page's module when the worker starts, not during its first request: the views pull
# in numpy, scipy, WeasyPrint and openpyxl, 2 to 4 s of a loaded core per worker (issue 8).
get_resolver().url_patterns  # noqa: B018
