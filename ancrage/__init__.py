"""Ancrage: help a lieu de médiation numérique build new actions with its collectivité and partners."""

__version__ = "0.1.0"
