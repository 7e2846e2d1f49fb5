"""The ``timers:`` section: how many timers may run, and where they are kept across restarts.

The ``timer`` handler family (handler_specs.TimerSpec) starts, cancels and reports them; this section
holds what is shared by every binding and outlives any one configuration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from assistantd.config.reader import Node

STATE_FILE_NAME = "timers.json"


@dataclass(frozen=True)
class TimersConfig:
    max_running: int = 8
    """At most this many timers run at once; starting one more fails (the error tone, if configured)."""
    state_file: str | None = None
    """Where running timers are saved, so that a restart restores them (a reload keeps them anyway).
    null: ``$STATE_DIRECTORY/timers.json`` when the service manager gives a state directory (the unit's
    StateDirectory=), else timers are not saved and a restart forgets them. Relative to the config file."""

    def state_path(self, base_dir: Path, environ: Mapping[str, str]) -> Path | None:
        """The file to save timers in (resolved when the app is built: config parsing reads no env)."""
        if self.state_file is not None:
            return base_dir / self.state_file
        state_dir = environ.get("STATE_DIRECTORY", "").split(":")[0]
        return Path(state_dir) / STATE_FILE_NAME if state_dir else None

    @classmethod
    def from_node(cls, node: Node) -> TimersConfig:
        cfg = cls(
            max_running=node.integer("max_running", cls.max_running, min=1, max=100),
            state_file=node.text("state_file", cls.state_file),
        )
        node.finish()
        return cfg
