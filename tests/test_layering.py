"""The package's import graph keeps its layers and its private modules private.

Two rules, checked over every module of ``cachewright/`` (ast, so imports inside
functions and under ``TYPE_CHECKING`` count too):

- Privacy: a dotted path with a private component (``cachewright.a.b._c...``) may be
  imported only from inside the package that holds that component (``cachewright.a.b``
  and its subpackages). ``cachewright._redis``, ``_metrics``, ``_redact`` (and the
  other root-private modules) belong to the root, so every module may use them.
- Layers (arrows point down, DESIGN section 1): ``cache`` imports none of
  ``patterns``, ``stores``, ``cli``, ``_cli``, ``settings``; ``stores`` imports none
  of ``cache``, ``patterns``, ``cli``, ``_cli``; ``patterns`` imports none of ``cli``,
  ``_cli``, ``settings`` (settings are read at the top and passed down; a layer given
  none asks ``cachewright._wiring``, which the top package fills).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import cachewright

PACKAGE = Path(cachewright.__file__).parent

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "cachewright.cache": (
        "cachewright.patterns",
        "cachewright.stores",
        "cachewright.cli",
        "cachewright._cli",
        "cachewright.settings",
    ),
    "cachewright.stores": (
        "cachewright.cache",
        "cachewright.patterns",
        "cachewright.cli",
        "cachewright._cli",
    ),
    "cachewright.patterns": ("cachewright.cli", "cachewright._cli", "cachewright.settings"),
}

# Known layer inversions, left for follow-up issues (each edge is named: a new one fails).
# None left: the list only shrinks.
KNOWN_INVERSIONS: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_module(dotted: str) -> bool:
    base = PACKAGE.parent.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def imports_of(source: str, name: str, is_package: bool) -> Iterator[str]:
    """Every ``cachewright`` module a module's source imports (relative ones resolved)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            yield base
            for alias in node.names:  # ``from pkg import _mod`` imports a module too
                if is_module(f"{base}.{alias.name}"):
                    yield f"{base}.{alias.name}"


def violations_in(source: str, name: str, is_package: bool) -> list[str]:
    found = []
    for target in imports_of(source, name, is_package):
        if target != "cachewright" and not target.startswith("cachewright."):
            continue
        parts = target.split(".")
        for i, part in enumerate(parts):
            if not part.startswith("_"):
                continue
            owner = ".".join(parts[:i])
            if name != owner and not name.startswith(owner + "."):
                found.append(f"{name} imports {target}, private to {owner}")
                break
        for layer, banned in FORBIDDEN.items():
            if name != layer and not name.startswith(layer + "."):
                continue
            for upper in banned:
                below = target == upper or target.startswith(upper + ".")
                if below and (name, target) not in KNOWN_INVERSIONS:
                    found.append(f"{name} ({layer}) imports {target} ({upper})")
    return found


def all_modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_no_module_imports_another_packages_private_module_or_an_upper_layer() -> None:
    problems = []
    for path in all_modules():
        name = module_name(path)
        problems += violations_in(path.read_text(), name, path.name == "__init__.py")
    assert problems == []


def test_known_inversions_still_exist() -> None:
    # An entry that no longer matches an import must be deleted, so the list only shrinks.
    edges = set()
    for path in all_modules():
        name = module_name(path)
        for target in imports_of(path.read_text(), name, path.name == "__init__.py"):
            edges.add((name, target))
    assert edges >= KNOWN_INVERSIONS


@pytest.mark.parametrize(
    ("module", "source", "problem"),
    [
        (
            "cachewright.patterns.write_through",
            "from cachewright.cache._cache import Cache",
            "private to cachewright.cache",
        ),
        (
            "cachewright.cache._cache",
            "from cachewright.cache.local._store import LocalStore",
            "private to cachewright.cache.local",
        ),
        (
            "cachewright._cli.demo_steps",
            "from cachewright.patterns.write_behind.queues import _partitions",
            "private to cachewright.patterns.write_behind.queues",
        ),
        (
            "cachewright.patterns.write_behind.pattern",
            "from .._keys import KeyMapper\nfrom ._flusher import Flusher\n"
            "from .queues._partitions import Partition",
            "private to cachewright.patterns.write_behind.queues",
        ),
        ("cachewright.cache.keys", "import cachewright.stores.base", "(cachewright.stores)"),
        ("cachewright.cache.codecs", "from cachewright.settings import Settings", "settings"),
        ("cachewright.stores.sql", "from cachewright.cache import Cache", "(cachewright.cache)"),
        ("cachewright.patterns.cached", "from cachewright._cli import loading", "_cli"),
    ],
)
def test_the_rules_catch_a_violation(module: str, source: str, problem: str) -> None:
    found = violations_in(source, module, is_package=False)
    assert found
    assert all(problem in line for line in found)


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("cachewright.cache.backends.redis", "from cachewright._redis.lane import Lane"),
        ("cachewright.stores.sql", "from cachewright._redact import redact"),
        ("cachewright.cache.local._coherence", "from cachewright.cache._stats import LocalStats"),
        ("cachewright.patterns.aside._fill", "from cachewright.patterns._fill import LeaseFill"),
        ("cachewright.patterns.write_behind", "from ._retry import RetryPolicy"),
    ],
)
def test_the_rules_allow_what_a_package_may_use(module: str, source: str) -> None:
    assert violations_in(source, module, is_package=module.endswith("write_behind")) == []
