"""mkdocs hook: show Sphinx roles left in docstrings as plain code.

The package's docstrings use ``:class:`~cachewright.Cache``` so they read well in
``help()`` and IDEs; mkdocstrings renders them as ``:class:<code>~cachewright.Cache</code>``.
This turns that into ``<code>Cache</code>`` (the ``~`` form keeps the last name, as
Sphinx does).
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:class|meth|func|mod|attr|data|exc|obj):<code>(~?)([\w.]+)</code>")


def _plain(match: re.Match[str]) -> str:
    name = match.group(2)
    return f"<code>{name.rsplit('.', 1)[-1] if match.group(1) else name}</code>"


def on_page_content(html: str, **kwargs: Any) -> str:
    return _ROLE.sub(_plain, html)
