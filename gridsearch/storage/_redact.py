"""Never showing a password: redaction of storage URLs in any text. Pure (no SQLAlchemy), so
every command can load it cheaply."""

from __future__ import annotations

import logging
import re
from urllib.parse import quote, unquote

# A URL in running text: scheme://, then up to whitespace or a quote.
_URL = re.compile(r"""\b([A-Za-z][A-Za-z0-9+.\-]*://)([^\s'"<>`]*)""")
# Query parameters that carry a secret (libpq: password, sslpassword).
_QUERY_SECRET = re.compile(r"([?&](?:ssl)?pass(?:word|wd)?=)([^&#]*)", re.IGNORECASE)
_SECRETS: set[str] = set()   # passwords of the URLs this process was given (see remember)
_MIN_SECRET = 4              # shorter ones are only hidden inside URLs


def _redact_url(m: re.Match) -> str:
    scheme, rest = m.groups()
    at = rest.rfind("@")  # user:password@host — a raw '@' or '/' in the password stays hidden
    if at >= 0 and ":" in rest[:at]:
        colon = rest.index(":")
        rest = rest[:colon + 1] + "***" + rest[at:]
    return scheme + _QUERY_SECRET.sub(r"\1***", rest)


def redact(text: str) -> str:
    """``text`` with every password hidden: in each URL (user:PASSWORD@, an empty user's
    :PASSWORD@, a ``?password=`` parameter, percent-encoded or raw), and anywhere else each
    password of a URL this process was given, raw or percent-encoded."""
    out = _URL.sub(_redact_url, str(text))
    for secret in sorted(_SECRETS, key=len, reverse=True):
        out = out.replace(secret, "***")
    return out


def remember(url: str) -> None:
    """Hide this URL's password (raw, decoded, percent-encoded) wherever :func:`redact` runs."""
    rest = url.split("://", 1)[-1]
    at = rest.rfind("@")
    found = [rest[rest.index(":") + 1:at]] if at >= 0 and ":" in rest[:at] else []
    found += [q.group(2) for q in _QUERY_SECRET.finditer(rest)]
    for secret in found:
        for form in {secret, unquote(secret), quote(unquote(secret), safe="")}:
            if len(form) >= _MIN_SECRET:
                _SECRETS.add(form)


class RedactingFilter(logging.Filter):
    """Log records with every password hidden (see :func:`redact`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            record.msg, record.args = redact(record.getMessage()), None
        except Exception:  # noqa: BLE001 - a malformed record is logging's to report, not ours
            pass
        return True
