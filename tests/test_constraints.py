"""constraints.txt pins every dependency pyproject.toml declares, at a version its bounds allow."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]


def _pins() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _, version = line.partition("==")
        assert version, f"constraints.txt: {line!r} is not an exact pin (name==version)"
        pins[canonicalize_name(name)] = Version(version)
    return pins


def _declared() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        lines.extend(extra)
    return [Requirement(line) for line in lines]


def test_every_declared_dependency_is_pinned_within_its_bounds() -> None:
    pins = _pins()
    for requirement in _declared():
        name = canonicalize_name(requirement.name)
        assert name in pins, (
            f"{requirement.name} is in pyproject.toml but not in constraints.txt: run scripts/lock.sh"
        )
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {requirement.name}=={pins[name]}, outside {requirement.specifier}"
        )


def test_every_install_path_uses_the_constraints() -> None:
    for script in ("scripts/_setup.sh", "scripts/install.sh"):
        installs = [
            line
            for line in (REPO / script).read_text().splitlines()
            if "pip install" in line and "upgrade pip" not in line
        ]
        assert installs, script
        for line in installs:
            assert "constraints.txt" in line, f"{script}: {line.strip()} installs without constraints.txt"
