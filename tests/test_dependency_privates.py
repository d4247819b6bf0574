"""No module of cachewright reaches into a dependency's private attributes (DESIGN 1).

An attribute starting with ``_`` on someone else's object (``conn._writer``,
``parser._buffer``) is a bug scheduled for that dependency's next release. Checked on
the syntax tree of every module: ``x._name`` and ``getattr(x, "_name")`` are allowed
only on ``self``/``cls`` or when ``_name`` is an attribute cachewright itself defines
(a method, a slot, a ``self._name = ...``, a module-level private name), that is, an
attribute of one of cachewright's own objects. Names known from redis-py's and
asyncio's internals are refused whoever the object is.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import cachewright

PACKAGE = Path(cachewright.__file__).parent

#: private names of redis-py's connections, parsers and pools, and of asyncio streams
NEVER = frozenset(
    {
        "_writer",
        "_reader",
        "_parser",
        "_sock",
        "_stream",
        "_buffer",
        "_transport",
        "_connected",
        "_protocol",
        "_available_connections",
        "_in_use_connections",
        "_created_connections",
        "_single_conn_lock",
        "_event_dispatcher",
        "_send_packed_command",
        "_read_response",
    }
)

_PROBES = {"getattr", "setattr", "hasattr", "delattr"}


def _modules() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(), str(path))) for path in PACKAGE.rglob("*.py")]


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _own_names(modules: list[tuple[Path, ast.Module]]) -> set[str]:
    """Every private name cachewright defines: functions, classes, slots, attributes."""
    names: set[str] = set()
    for _, tree in modules:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.alias):
                names.add(node.asname or node.name)
            elif isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == "__slots__" for target in node.targets
            ):
                for item in ast.walk(node.value):
                    if isinstance(item, ast.Constant) and isinstance(item.value, str):
                        names.add(item.value)
    return {name for name in names if _private(name)}


def _accesses(tree: ast.Module) -> Iterator[tuple[int, str, str]]:
    """(line, object, private name) for every private attribute read off another object."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in {"self", "cls"}:
                continue
            yield node.lineno, ast.unparse(owner), node.attr
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _PROBES
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and _private(node.args[1].value)
        ):
            yield node.lineno, ast.unparse(node.args[0]), node.args[1].value


def test_no_private_attribute_of_a_dependency_is_touched() -> None:
    modules = _modules()
    assert len(modules) > 50  # the walk found the package
    own = _own_names(modules) - NEVER
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {owner}.{name}"
        for path, tree in modules
        for line, owner, name in _accesses(tree)
        if name not in own
    ]
    assert found == []


def test_no_redis_py_or_asyncio_internals_on_any_object() -> None:
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {owner}.{name}"
        for path, tree in _modules()
        for line, owner, name in _accesses(tree)
        if name in NEVER
    ]
    assert found == []


def test_the_check_catches_what_the_old_lane_did() -> None:
    # The lane before issue 14 wrote into redis-py's StreamWriter.
    old = ast.parse('writer = getattr(conn, "_writer", None)\nconn._parser.can_read()')
    assert [name for _, _, name in _accesses(old)] == ["_writer", "_parser"]
