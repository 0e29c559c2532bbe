"""Where the current write comes from: the web request's address, or the command line.

Services record "from where" without taking the request as an argument: the middleware sets
this context for the duration of a request.
"""

from contextvars import ContextVar
from dataclasses import dataclass

from ancrage.audit.enums import AuditOrigin


@dataclass(frozen=True)
class WriteContext:
    origin: str = AuditOrigin.CLI
    ip_address: str | None = None


# WriteContext is frozen, so sharing one default instance is safe.
_current: ContextVar[WriteContext] = ContextVar(
    "ancrage_write_context",
    default=WriteContext(),  # noqa: B039
)


def current() -> WriteContext:
    return _current.get()


def set_current(context: WriteContext):
    return _current.set(context)


def reset(token) -> None:
    _current.reset(token)
