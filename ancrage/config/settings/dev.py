"""Development and demo: debug on, e-mails printed to the console."""

from ancrage.config.settings.base import *  # noqa: F403
from ancrage.config.settings.base import env

DEBUG = env.bool("DEBUG", default=True)

# Static files straight from the apps, without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
