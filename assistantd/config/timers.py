"""The ``timers:`` section: how many timers may run, and where they are kept across restarts.

The ``timer`` handler family (handler_specs.TimerSpec) starts, cancels and reports them; this section
holds what is shared by every binding and outlives any one configuration.
"""

from __future__ import annotations

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
    null: ``<service.state_dir>/timers.json``, next to the privacy switch (service.state_dir is the one
    setting for what outlives a restart; its default is the directory the unit's StateDirectory=
    creates). Relative to the config file."""

    def state_path(self, base_dir: Path, state_dir: str) -> Path:
        """The file to save timers in; ``state_dir`` is service.state_dir."""
        if self.state_file is not None:
            return base_dir / self.state_file
        return Path(state_dir) / STATE_FILE_NAME

    @classmethod
    def from_node(cls, node: Node) -> TimersConfig:
        cfg = cls(
            max_running=node.integer("max_running", cls.max_running, min=1, max=100),
            state_file=node.text("state_file", cls.state_file),
        )
        node.finish()
        return cfg
