"""docs/configuration.md carries its settings table in the repository, and it is current.

The table between the ``settings-reference`` markers is generated from ``Settings``
(``python docs/_hooks/settings_reference.py``); the site build regenerates it. Here:
the checked-in copy must equal what the code generates now, and name every field.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from cachewright.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "configuration.md"


def hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "settings_reference", ROOT / "docs" / "_hooks" / "settings_reference.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_checked_in_settings_table_is_current() -> None:
    text = PAGE.read_text()
    reference = hook()
    assert reference.START in text
    assert reference.END in text
    assert reference.with_table(text) == text, (
        "docs/configuration.md's settings table is stale: run"
        " `python docs/_hooks/settings_reference.py`"
    )


def test_the_page_names_every_setting_without_a_build() -> None:
    text = PAGE.read_text()
    assert text.count("\n| `CACHEWRIGHT_") == len(Settings.model_fields)
    for name in Settings.model_fields:
        assert f"`CACHEWRIGHT_{name.upper()}`" in text, name
