"""The ``feedback:`` section: short sounds the daemon plays itself, through one configured player.

```yaml
feedback:
  player: [aplay, -q]        # the WAV's path is appended, or fills an element that is exactly "{file}"
  wake: sounds/chime.wav     # when the wake phrase is heard
  error: sounds/error.wav    # when a command fails (recognizer lost it, or a handler failed)
  alarm: sounds/alarm.wav    # when a timer is up, before its spoken alarm
  tail_ms: 100               # the microphone stays muted this long after a sound ends
```
Paths are relative to the config file's directory. The microphone is muted while a sound plays (the
listener never hears the daemon's own sounds), as it is while a reply is spoken.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from assistantd.config.handler_specs import template
from assistantd.config.reader import Node
from assistantd.config.template import Template

SOUNDS = ("wake", "error", "alarm")
"""The events that have a sound, each a key of this section."""


@dataclass(frozen=True)
class FeedbackConfig:
    player: tuple[Template, ...] = (Template.parse("aplay"), Template.parse("-q"))
    """The player's argv. The sound's path fills an element that is exactly "{file}", else is appended."""
    wake: str | None = None
    """WAV played when the wake phrase is heard; null = silent. A command begun during it is cut by its
    length plus tail_ms (the microphone is muted meanwhile), so keep it short (the shipped one: 0.12 s)."""
    error: str | None = None
    """WAV played when a command fails: every recognizer failed it (report outcome ``lost``) or one of
    its handlers failed. Nothing plays for noise, rejected speech or text no intent matched."""
    alarm: str | None = None
    """WAV played when a timer is up, before its spoken alarm; null = only the spoken alarm."""
    tail_ms: int = 100
    """After a sound ends, captured audio is still discarded this long (room echo, buffered playback)."""
    timeout_s: float = 10.0
    """A player still running after this is killed (the microphone must not stay muted for good)."""

    def sound(self, event: str) -> str | None:
        """The WAV configured for ``event`` (one of SOUNDS), or None."""
        path: str | None = getattr(self, event)
        return path

    def argv(self, path: str) -> list[str]:
        if any(element.whole_field == "file" for element in self.player):
            return [element.render({"file": path}) for element in self.player]
        return [element.source for element in self.player] + [path]

    @classmethod
    def from_node(cls, node: Node, base_dir: Path) -> FeedbackConfig:
        player = cls.player
        raw = node.raw("player", None)
        if raw is not None:
            if not isinstance(raw, list) or not raw or not all(isinstance(a, str) for a in raw):
                raise node.error("player", "expected a non-empty list of strings (an argv)", raw)
            elements = []
            for i, element in enumerate(raw):
                tpl = template(node, f"player[{i}]", element)
                if tpl.fields and (tpl.whole_field != "file" or i == 0):
                    raise node.error(
                        f"player[{i}]", 'expected a literal or an element that is exactly "{file}"', element
                    )
                elements.append(tpl)
            player = tuple(elements)
        sounds = {event: _wav(node, event, base_dir) for event in SOUNDS}
        cfg = cls(
            player=player,
            wake=sounds["wake"],
            error=sounds["error"],
            alarm=sounds["alarm"],
            tail_ms=node.integer("tail_ms", cls.tail_ms, min=0, max=5000),
            timeout_s=node.number("timeout_s", cls.timeout_s, min=0.1, max=600),
        )
        node.finish()
        return cfg


def _wav(node: Node, key: str, base_dir: Path) -> str | None:
    value = node.text(key, None)
    if value is None:
        return None
    path = base_dir / value
    # A FIFO, device or directory is refused, not read: opening a FIFO for reading blocks until a writer
    # comes (check-config would hang, a reload would block the event loop). O_NONBLOCK makes the open
    # return at once, and the file's type is judged on what was opened (no window to swap it).
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        raise node.error(key, f"expected a WAV file that exists ({err.strerror or err})", value) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise node.error(
                key, "expected a WAV file that is a regular file (not a FIFO, device or directory)", value
            )
        head = os.read(fd, 12)
    except OSError as err:
        raise node.error(key, f"expected a readable WAV file ({err.strerror or err})", value) from None
    finally:
        os.close(fd)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise node.error(key, "expected a WAV file (RIFF/WAVE)", value)
    return str(path)
