"""The settings table of ``docs/configuration.md``, built from ``Settings``.

Each row comes from ``Settings.model_fields``: the variable, its type, its default and
its description. The table is checked in between the ``settings-reference`` markers,
so the page reads complete in the repository too; as an mkdocs hook this module
rebuilds it at build time, so the site always matches the code. After changing
``Settings``, regenerate the checked-in copy::

    python docs/_hooks/settings_reference.py

``tests/test_docs_configuration.py`` fails while the checked-in table is stale;
``tests/test_docs.py`` builds the site and looks for every field.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import SecretStr

from cachewright.settings import Settings

START = "<!-- settings-reference:start -->"
END = "<!-- settings-reference:end -->"
_REGION = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
PAGE = Path(__file__).resolve().parent.parent / "configuration.md"


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        return " | ".join(_type_name(arg) for arg in get_args(annotation))
    if origin is not None and getattr(origin, "__name__", "") == "Literal":
        return " | ".join(repr(arg) for arg in get_args(annotation))
    if annotation is type(None):
        return "None"
    if annotation is SecretStr:
        return "secret str"
    return getattr(annotation, "__name__", str(annotation))


def _default(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 10_000:
        return f"`{value:_}`"
    return f"`{value!r}`"


def settings_table() -> str:
    prefix = Settings.model_config.get("env_prefix", "")
    rows = [
        "| variable | type | default | meaning |",
        "|---|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        description = (field.description or "").replace("|", "\\|")
        kind = _type_name(field.annotation).replace("|", "\\|")
        rows.append(
            f"| `{prefix}{name.upper()}` | {kind} | {_default(field.default)} | {description} |"
        )
    return "\n".join(rows)


def with_table(markdown: str) -> str:
    """``markdown`` with the region between the markers holding the current table."""
    region = f"{START}\n{settings_table()}\n{END}"
    return _REGION.sub(lambda _: region, markdown)


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    return with_table(markdown) if START in markdown else markdown


if __name__ == "__main__":
    text = PAGE.read_text()
    if START not in text:
        sys.exit(f"{PAGE} has no {START} marker")
    PAGE.write_text(with_table(text))
    print(f"updated {PAGE}")
