"""mkdocs hook: replace ``<!-- settings-reference -->`` with a table built from ``Settings``.

Each row comes from ``Settings.model_fields``: the variable, its type, its default and
its description, so the configuration page always matches the code. Tested by
``tests/test_docs.py``, which builds the site and looks for every field.
"""

from __future__ import annotations

import types
from typing import Any, Union, get_args, get_origin

from pydantic import SecretStr

from cachewright.settings import Settings

MARKER = "<!-- settings-reference -->"


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


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    if MARKER in markdown:
        return markdown.replace(MARKER, settings_table())
    return markdown
