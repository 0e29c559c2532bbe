"""Development and demo: debug on, e-mails printed to the console."""

from ancrage.config.settings.base import *  # noqa: F403
from ancrage.config.settings.base import env

DEBUG = env.bool("DEBUG", default=True)

# Static files straight from the apps, without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# The demo accounts log in with their password alone. `ANCRAGE_REQUIRE_TOTP=1 ancrage demo`
# asks référents, élus and coordinateurs for their code (the demo key is in the README).
ANCRAGE_REQUIRE_TOTP = env.bool("ANCRAGE_REQUIRE_TOTP", default=False)
