"""A logging filter that keeps e-mail addresses out of the server's logs.

Pure module: no Django. Ancrage never logs usagers' data (tested in
tests/security/test_no_personal_data_in_logs.py),
but libraries do log account identifiers (django-axes logs the e-mail of a failed login). The
audit trail already records who did what; the logs, kept and shipped with fewer precautions, get
``p…@exemple.fr`` instead.
"""

import logging
import re

EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")


def mask(text: str) -> str:
    return EMAIL.sub(r"\1…@\2", text)


class MaskPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's business, not ours
            return True
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, ()
        return True
