#!/usr/bin/env python
"""Django's manage.py, for habit: ``ancrage`` is the same command."""

from ancrage.cli import main

if __name__ == "__main__":
    main()
