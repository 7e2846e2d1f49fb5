"""The cloud listening path must not load numpy, soxr or aiomqtt (issue 6: ~16 MB of RSS on a Pi), nor
systemd-python's libsystemd, nor rapidfuzz before a fuzzy match is needed (issue 13: 1 MB and 3.5 MB), nor
what a config that does not use it never needs (issue 13: start-up): the HTTP handler families, arbitration,
the grammar builder (a warm cache holds the grammar), the cloud vendors' config blocks, difflib (only
for a misspelt key), ctypes (only at a reload).

Checked in a fresh interpreter, since this test process has imported them long ago. bench/daemon.py
measures what this saves; this test keeps a stray top-level import from quietly undoing it.
"""

from __future__ import annotations

import subprocess
import sys

from tests.daemon.harness import REPO

PROBE = """
import sys
import assistantd.commands.run
from assistantd.audio.convert import Framer, ToMono16k
from assistantd.config.endpoint import EndpointConfig
from assistantd.endpoint.vad import build_vad

vad = build_vad(EndpointConfig())
frames = Framer(30).push(ToMono16k(16000, 1, 2).process(bytes(range(256)) * 60))
verdicts = [vad.is_speech(f.pcm) for f in frames]
assert frames and vad.last.level_db > -100, (len(frames), vad.last)
unwanted = (
    "numpy", "soxr", "aiomqtt", "paho", "wyoming", "systemd", "rapidfuzz", "difflib", "ctypes",
    "assistantd.handlers.http", "assistantd.handlers.homeassistant", "assistantd.handlers.conversation",
    "assistantd.arbitration", "assistantd.announce", "assistantd.recognizer.grammar",
    "assistantd.recognizer.jsgf", "assistantd.config.volcengine", "assistantd.config.huawei",
    "assistantd.config.wyoming",
)
print(" ".join(sorted(m for m in unwanted if m in sys.modules)))
"""


def test_listening_at_the_house_format_loads_no_numpy_soxr_mqtt_libsystemd_or_rapidfuzz() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""


def test_another_rate_still_converts() -> None:
    probe = (
        "import sys\nfrom assistantd.audio.convert import ToMono16k\n"
        "out = ToMono16k(48000, 2, 2).process(bytes(4 * 4800))\n"
        "print(len(out) > 0, 'numpy' in sys.modules, 'soxr' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["True", "True", "True"]


def test_rapidfuzz_is_loaded_by_the_first_fuzzy_match_only() -> None:
    probe = (
        "import sys\nfrom pathlib import Path\nfrom assistantd.intents.loader import load_intent_files\n"
        "m = load_intent_files([Path('config/intents/en.yaml')])\n"
        "exact = m.match('turn on the kitchen lights')\n"
        "before = 'rapidfuzz' in sys.modules\n"
        "near = m.match('turn on the kitchen lites')\n"
        "print(exact.intent, exact.score, before, near.intent, near.score < 100, 'rapidfuzz' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["LightOn", "100.0", "False", "LightOn", "True", "True"]
