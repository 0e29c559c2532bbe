"""The ``ancrage`` command: Django's management commands, with Ancrage's own among them.

ancrage demo            load the demo data and serve it on http://127.0.0.1:8000
ancrage serve           serve Ancrage
ancrage migrate, ancrage createsuperuser, …   the usual Django commands
"""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ancrage.config.settings.dev")
    if argv[:1] == ["demo"]:
        # Read by the settings: the pages then say that they show demonstration data.
        os.environ.setdefault("ANCRAGE_DEMO", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["ancrage", *argv])


if __name__ == "__main__":
    main()
