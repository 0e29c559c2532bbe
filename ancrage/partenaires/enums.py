"""Choices of the partner directory. Lists from the national standard live in ``enums_standard``;
the thematic families are the seed's, defined once in ``ancrage.diagnostic.cibles``."""

from ancrage.diagnostic.cibles import FAMILLES
from ancrage.partenaires.publics import PUBLIC_CHOICES

FAMILLE_CHOICES = tuple((famille, famille[0].upper() + famille[1:]) for famille in FAMILLES)
PUBLICS_TOUCHES_CHOICES = PUBLIC_CHOICES
