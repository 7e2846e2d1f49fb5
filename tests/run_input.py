"""``assistantd run --config CONFIG --input WAV`` as a subprocess, for end-to-end tests of the main job."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Run:
    lines: list[dict[str, Any]]
    """The report lines, ordered by start time (they are printed as handlers finish, and two utterances
    may be in flight at once)."""
    log: str
    returncode: int


async def run_input(
    config: Path,
    wav: Path,
    *,
    env: Mapping[str, str] | None = None,
    pace: bool = False,
    timeout_s: float = 120,
) -> Run:
    """The daemon's run over ``wav``; ``timeout_s`` bounds a hang only (a benchmark's long recording may
    need more)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "assistantd",
        "run",
        "--config",
        str(config),
        "--input",
        str(wav),
        *(["--pace"] if pace else []),
        cwd=ROOT,
        env=dict(os.environ, **(env or {})),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(timeout_s):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    lines = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    lines.sort(key=lambda line: float(line["start"]))
    return Run(lines, err.decode(), proc.returncode)


async def run_ok(
    config: Path, wav: Path, env: Mapping[str, str] | None = None
) -> tuple[list[dict[str, Any]], str]:
    """``run_input`` that must exit 0; returns the report lines and the log."""
    run = await run_input(config, wav, env=env)
    assert run.returncode == 0, run.log
    return run.lines, run.log
