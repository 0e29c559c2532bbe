"""Signals of the dossiers, for the apps above them that must react without being imported here.

``dossier_created`` (sender: ``Dossier``, ``dossier=``) is sent inside ``dossier_create``'s
transaction: the conventions attach the action's signed convention to the new dossier.
"""

from django.dispatch import Signal

dossier_created = Signal()
