"""The demo's e-mail backend: each message goes to the console, as Django's console backend
prints it, and is kept in the database for the page « Courriels de la démonstration ».

Demo and development only (``ancrage.config.settings.dev``): the page shows every message to
whoever opens the demo, one-time codes and reset links included. ``prod.py`` refuses it.
"""

from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.db import transaction

from ancrage.demo.models import CourrielDemo, PieceJointeDemo


def _parts(message):
    for attachment in message.attachments:
        if isinstance(attachment, tuple) or hasattr(attachment, "filename"):
            name, content, mimetype = tuple(attachment)[:3]
            if isinstance(content, str):
                content = content.encode()
            yield name or "piece-jointe", content or b"", mimetype or "application/octet-stream"


class ConsoleAndStoreBackend(ConsoleBackend):
    def send_messages(self, email_messages):
        sent = super().send_messages(email_messages)

        with transaction.atomic():
            for message in email_messages:
                if not message.recipients():
                    continue
                courriel = CourrielDemo.objects.create(
                    expediteur=message.from_email or "",
                    destinataires="\n".join(message.recipients()),
                    sujet=message.subject[:255],
                    corps=message.body,
                )
                for name, content, mimetype in _parts(message):
                    PieceJointeDemo.objects.create(
                        courriel=courriel,
                        nom=name[:255],
                        type_mime=mimetype[:100],
                        contenu=content,
                        taille=len(content),
                    )
        return sent
