"""Figures on the package's shape (issue 11's closing numbers), printed from the sources themselves.

    python -m bench.code_figures [--root assistantd]

* ``Any``: uses of ``typing.Any`` in code (names and ``typing.Any`` attributes in the syntax tree: the
  imports, comments and docstrings are not counted).
* Module length: physical lines per ``.py`` file; median and the longest.
* Function length: lines from ``def`` to the last line of its body, for every function and method (nested
  ones counted on their own too); median and the longest.
* Files to add a handler family / cloud recognizer vendor / VAD engine: the ``Files:`` line of each recipe
  in CONTRIBUTING.md, new and edited.
"""

from __future__ import annotations

import argparse
import ast
import re
import statistics
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Span:
    where: str
    lines: int


def any_uses(tree: ast.AST) -> int:
    return sum(
        1
        for node in ast.walk(tree)
        if (isinstance(node, ast.Name) and node.id == "Any")
        or (isinstance(node, ast.Attribute) and node.attr == "Any")
    )


def functions(tree: ast.AST, module: str) -> list[Span]:
    return [
        Span(f"{module}:{node.name}", (node.end_lineno or node.lineno) - node.lineno + 1)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


@dataclass(frozen=True)
class Figures:
    any_count: int
    modules: list[Span]
    functions: list[Span]


def measure(package: Path) -> Figures:
    any_count = 0
    modules: list[Span] = []
    funcs: list[Span] = []
    for path in sorted(package.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        name = str(path.relative_to(package.parent))
        tree = ast.parse(text, filename=name)
        any_count += any_uses(tree)
        modules.append(Span(name, len(text.splitlines())))
        funcs += functions(tree, name)
    return Figures(any_count, modules, funcs)


def recipes(contributing: Path) -> dict[str, list[str]]:
    """Each CONTRIBUTING.md recipe's ``Files:`` entries (``path (new|edit|one line)``), by section."""
    out: dict[str, list[str]] = {}
    section = ""
    lines = contributing.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.startswith("## "):
            section = line[3:].strip()
        elif line.startswith("Files:"):
            block = " ".join([line, *lines[i + 1 : i + 3]]).split(". ")[0]
            out[section] = [f"{path} ({how})" for path, how in re.findall(r"`([^`]+)` \(([^)]+)\)", block)]
    return out


def _spread(spans: list[Span]) -> str:
    longest = max(spans, key=lambda s: s.lines)
    return f"median {statistics.median(s.lines for s in spans):g}, max {longest.lines} ({longest.where})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT / "assistantd")
    args = parser.parse_args()
    figures = measure(args.root)
    print(f"Any uses in code: {figures.any_count}")
    print(f"modules: {len(figures.modules)}, lines {_spread(figures.modules)}")
    over = [s for s in figures.modules if s.lines > 500]
    print(f"modules over 500 lines: {len(over)}")
    print(f"functions: {len(figures.functions)}, lines {_spread(figures.functions)}")
    for section, files in recipes(args.root.parent / "CONTRIBUTING.md").items():
        new = sum(1 for f in files if f.endswith("(new)"))
        print(f"{section}: {len(files)} files ({new} new): {', '.join(files)}")


if __name__ == "__main__":
    main()
