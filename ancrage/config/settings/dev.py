"""Development and demo: e-mails printed to the console, static files straight from the apps.

Debug stays off, as in production: the demo shows the French error pages, never Django's debug
page with the URL patterns. A developer turns it on on purpose: ``ANCRAGE_DEBUG=1 ancrage demo``.
"""

from ancrage.config.settings.base import *  # noqa: F403
from ancrage.config.settings.base import DEBUG, env

# Static files straight from the apps, without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# The demo accounts log in with their password alone. `ANCRAGE_REQUIRE_TOTP=1 ancrage demo`
# asks référents, élus and coordinateurs for their code (the demo key is in the README).
ANCRAGE_REQUIRE_TOTP = env.bool("ANCRAGE_REQUIRE_TOTP", default=False)

# The demo's e-mails go to the console and to the page « Courriels de la démonstration »
# (/demo/courriels/), where a demo user reads them. Never in production (prod.py refuses it).
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="ancrage.demo.mail.ConsoleAndStoreBackend")
