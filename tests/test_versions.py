"""pyproject's version ranges say what CI runs: each lower bound is the version CI tests.

``constraints-oldest.txt`` pins what the ``oldest`` nox session installs; these tests keep
it equal to the lower bounds pyproject declares, so neither can move without the other.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
# The extras a user installs the library with (docs, bench and test are tooling).
RUNTIME_EXTRAS = ["sql", "cli", "otel"]
# Pinned beside a runtime dependency because they must move together with it.
COMPANIONS = {"opentelemetry-sdk": "opentelemetry-api"}


def _runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in RUNTIME_EXTRAS:
        lines += project["optional-dependencies"][extra]
    return [Requirement(line) for line in lines]


def _lower_bound(requirement: Requirement) -> Version:
    bounds = [Version(spec.version) for spec in requirement.specifier if spec.operator == ">="]
    assert len(bounds) == 1, f"{requirement} needs exactly one >= lower bound"
    return bounds[0]


def _pins() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for raw in (ROOT / "constraints-oldest.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints-oldest.txt: {raw!r} is not a name==version pin"
            pins[canonicalize_name(name)] = Version(version)
    return pins


def test_every_runtime_dependency_is_pinned_at_its_lower_bound() -> None:
    pins = _pins()
    for requirement in _runtime_requirements():
        name = canonicalize_name(requirement.name)
        assert pins.get(name) == _lower_bound(requirement), (
            f"constraints-oldest.txt must pin {name}=={_lower_bound(requirement)}"
        )


def test_nothing_else_is_pinned_but_companions_at_their_partners_version() -> None:
    pins = _pins()
    declared = {canonicalize_name(r.name) for r in _runtime_requirements()}
    for name, version in pins.items():
        if name in declared:
            continue
        assert name in COMPANIONS, f"constraints-oldest.txt pins {name}, not a dependency"
        assert version == pins[COMPANIONS[name]], f"{name} must match {COMPANIONS[name]}"
