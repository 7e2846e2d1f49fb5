"""The ``service:`` section: logging, observability and the daemon's own timings."""

from __future__ import annotations

from dataclasses import dataclass

from assistantd.config.reader import Node

LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True)
class ServiceConfig:
    log_level: str = "info"
    """debug, info, warning or error."""
    metrics_port: int | None = None
    """Serve Prometheus text metrics on 127.0.0.1:PORT/metrics; null (the default) serves nothing."""
    save_utterances_dir: str | None = None
    """Save each utterance's audio as a WAV here for debugging; null (the default) saves nothing."""
    save_utterances_max: int = 100
    """Keep at most this many saved WAVs; the oldest are deleted."""
    shutdown_grace_s: float = 3.0
    """On SIGTERM, an utterance in flight gets this long to finish before it is cancelled."""
    status_interval_s: float = 60.0
    """How often the counters are summarised in the log."""
    state_dir: str = "/var/lib/assistantd"
    """Where the daemon keeps what must survive a restart: the privacy switch (privacy.json, read when
    the daemon starts; a reload does not move it) and running timers (timers.json, unless
    timers.state_file says otherwise). The unit's StateDirectory=assistantd creates it."""
    watchdog_stall_s: float | None = None
    """WATCHDOG=1 is withheld once no audio frame was consumed for this long; null = twice
    audio.stall_timeout_s, at least 5 s (the microphone gets to reopen itself before systemd steps in)."""

    @classmethod
    def from_node(cls, node: Node) -> ServiceConfig:
        cfg = cls(
            log_level=node.text("log_level", cls.log_level, choices=LOG_LEVELS),
            metrics_port=node.integer("metrics_port", cls.metrics_port, min=1, max=65535),
            save_utterances_dir=node.text("save_utterances_dir", cls.save_utterances_dir),
            save_utterances_max=node.integer(
                "save_utterances_max", cls.save_utterances_max, min=1, max=100000
            ),
            shutdown_grace_s=node.number("shutdown_grace_s", cls.shutdown_grace_s, min=0, max=4.5),
            status_interval_s=node.number("status_interval_s", cls.status_interval_s, min=1, max=86400),
            state_dir=node.text("state_dir", cls.state_dir),
            watchdog_stall_s=node.number("watchdog_stall_s", cls.watchdog_stall_s, min=0.1, max=3600),
        )
        if not cfg.state_dir.startswith("/"):
            raise node.error("state_dir", "expected an absolute path", cfg.state_dir)
        node.finish()
        return cfg
