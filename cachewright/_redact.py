"""Redaction of secrets in URLs and messages (G13)."""

from __future__ import annotations

import re

__all__ = ["redact", "redact_url"]

# scheme://user:password@host  ->  scheme://user:***@host ; scheme://password@host -> scheme://***@host
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<userinfo>[^@/\s]+)@")
_QUERY_SECRET = re.compile(
    r"(?i)(?P<name>password|passwd|pwd|token|secret|sslpassword)=(?P<value>[^&\s]+)"
)


def _mask_userinfo(match: re.Match[str]) -> str:
    userinfo = match.group("userinfo")
    user, sep, _ = userinfo.partition(":")
    masked = f"{user}:***" if sep else "***"
    return f"{match.group('scheme')}{masked}@"


def redact_url(url: str) -> str:
    """Return ``url`` with any password or token replaced by ``***``.

    >>> redact_url("redis://app:s3cret@127.0.0.1:6379/0")
    'redis://app:***@127.0.0.1:6379/0'
    """
    url = _USERINFO.sub(_mask_userinfo, url)
    return _QUERY_SECRET.sub(lambda m: f"{m.group('name')}=***", url)


def redact(text: str, *secrets: str | None) -> str:
    """Redact URLs in ``text`` and every literal secret given."""
    text = redact_url(text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
