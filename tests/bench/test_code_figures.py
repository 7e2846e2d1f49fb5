"""bench/code_figures.py counts what it says it counts, on a package made for the test."""

from __future__ import annotations

from pathlib import Path

from bench.code_figures import measure, recipes


def test_any_uses_module_and_function_lengths(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text(
        '"""Any in a docstring is not counted."""\n'
        "import typing\n"
        "from typing import Any  # nor in an import or a comment: Any\n"
        "\n"
        "def f(x: Any) -> typing.Any:\n"
        "    return x\n"
    )
    (package / "b.py").write_text(
        "async def g() -> None:\n    pass\n\n\nclass C:\n    def m(self) -> None:\n        pass\n"
    )
    figures = measure(package)
    assert figures.any_count == 2
    assert sorted(m.lines for m in figures.modules) == [6, 7]
    assert sorted((f.where, f.lines) for f in figures.functions) == [
        ("pkg/a.py:f", 2),
        ("pkg/b.py:g", 2),
        ("pkg/b.py:m", 2),
    ]


def test_recipes_are_read_from_the_files_lines(tmp_path: Path) -> None:
    contributing = tmp_path / "CONTRIBUTING.md"
    contributing.write_text(
        "## A thing\n\nFiles: `x/new.py` (new), `x/table.py` (edit),\n`x/other.py` (one line). Then more.\n"
    )
    assert recipes(contributing) == {
        "A thing": ["x/new.py (new)", "x/table.py (edit)", "x/other.py (one line)"]
    }
