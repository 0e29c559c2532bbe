"""E-mails: one French message per recipient, with absolute links, sent once the transaction commits.

Every notification of Ancrage goes through here (the dossiers' examination, the conventions'
circuit, reminders and alerts): ``message`` renders a text template, ``site_url`` makes the
absolute link an e-mail needs outside a request (``ANCRAGE_SITE_URL``), ``send_on_commit`` sends
after the commit so that a rolled-back write never announces anything, and logs a failed
sending instead of turning an already committed request into an error page.
"""

import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)


def site_url(path: str = "") -> str:
    """``path`` under the site's public address (``ANCRAGE_SITE_URL``)."""
    return f"{settings.ANCRAGE_SITE_URL.rstrip('/')}{path}"


def message(
    *,
    to: str | Iterable[str],
    subject: str,
    template: str,
    context: dict,
    attachments: Iterable[tuple[str, bytes, str]] = (),
) -> EmailMessage:
    """A text e-mail from ``template``; ``attachments`` are (name, content, MIME type)."""
    recipients = [to] if isinstance(to, str) else list(to)
    body = render_to_string(template, context)
    email = EmailMessage(" ".join(subject.split())[:150], body, settings.DEFAULT_FROM_EMAIL, recipients)
    for name, content, mimetype in attachments:
        email.attach(name, content, mimetype)
    return email


def send(messages: list[EmailMessage]) -> int:
    """Send on one connection; raises if the server refuses (callers decide what that means)."""
    if not messages:
        return 0
    return get_connection().send_messages(messages) or 0


def send_on_commit(build: Callable[[], list[EmailMessage]]) -> None:
    """Build and send the messages once the current transaction commits (now, outside one)."""

    def deliver() -> None:
        try:
            send(build())
        except Exception:  # the write is committed: a mail server's failure is logged, not raised
            logger.exception("E-mail not sent")

    transaction.on_commit(deliver)
