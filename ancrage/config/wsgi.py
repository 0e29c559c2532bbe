import os

from django.core.wsgi import get_wsgi_application
from django.db import connections
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ancrage.config.settings.prod")

application = get_wsgi_application()
# Import every page's module when the worker starts, not during its first request: the views pull
# in numpy, scipy, WeasyPrint and openpyxl, 2 to 4 s of a loaded core per worker.
get_resolver().url_patterns  # noqa: B018
# Compile the templates (pages, DSFR forms and widgets) now too. With ``gunicorn --preload`` this
# module is imported once by the master: the workers are forked with all of it done.
from ancrage.www.warmup import warm_templates  # noqa: E402  (needs the apps loaded above)

warm_templates()
# Nothing above should touch the database; if anything did, a connection opened in the master must
# not be inherited by the forked workers.
connections.close_all()
