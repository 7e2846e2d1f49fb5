"""Command line: argument parsing, logging set-up and exit codes. Nothing else knows about argv.

Exit codes: 0 success; 1 a negative answer (``intents test`` matched nothing); 2 bad input or config.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from assistantd import __version__
from assistantd.errors import AssistantError

EXIT_OK = 0
EXIT_NEGATIVE = 1
EXIT_BAD_INPUT = 2


def _config_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="config file (default: /etc/assistantd/assistant.yaml, else config/assistant.yaml)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="assistantd", description="Always-on voice assistant daemon.")
    parser.add_argument("--version", action="version", version=f"assistantd {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run the assistant (the systemd service's command)")
    _config_arg(p)
    p.add_argument(
        "--input",
        default=None,
        metavar="FILE.wav",
        help="listen to a recording ('-' for raw 16 kHz s16le on stdin) instead of the microphone; "
        "prints one JSON line per utterance and exits at its end",
    )
    p.add_argument("--pace", action="store_true", help="with --input: play the recording in real time")

    p = sub.add_parser("check-config", help="validate a config file; exit 0 or print the error and exit 2")
    _config_arg(p)
    p.add_argument(
        "--credentials-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="read credential:assistantd_NAME secrets from DIR/NAME, as the unit's LoadCredential= does "
        "(default: $CREDENTIALS_DIRECTORY under systemd, else /etc/assistantd/credentials)",
    )

    sub.add_parser("devices", help="list audio input devices")

    p = sub.add_parser("capture", help="record the audio source (16 kHz mono) into a WAV file")
    p.add_argument("out", type=Path, metavar="OUT.wav")
    _config_arg(p)
    p.add_argument("--input", default=None, metavar="PATH", help="a WAV file, or - for raw s16le on stdin")
    p.add_argument("--seconds", type=float, default=None, help="stop after this much audio (mic: 5)")
    p.add_argument("--pace", action="store_true", help="deliver file/stdin audio in real time")

    p = sub.add_parser("segments", help="print the speech segments the endpointer finds in a WAV file")
    p.add_argument("path", type=Path, metavar="PATH.wav")
    _config_arg(p)
    p.add_argument(
        "--plot", type=Path, default=None, metavar="OUT.png", help="draw waveform, VAD and segments"
    )

    p = sub.add_parser("wake", help="print where the wake word fires in a WAV file, one JSON line each")
    p.add_argument("path", type=Path, metavar="PATH.wav")
    _config_arg(p)
    p.add_argument("--model", default=None, help="a built-in model or a model .json (default: wake.model)")
    p.add_argument("--cutoff", type=float, default=None, help="probability cutoff (default: the config's)")

    p = sub.add_parser("intents", help="work with intent files")
    intents_sub = p.add_subparsers(dest="intents_command", required=True, metavar="ACTION")
    p = intents_sub.add_parser("test", help="print the intent TEXT matches as JSON; exit 1 if none")
    p.add_argument("text", metavar="TEXT")
    _config_arg(p)
    p.add_argument(
        "--intents",
        type=Path,
        nargs="+",
        default=None,
        metavar="FILE.yaml",
        help="intent files to use instead of the config's intents.files",
    )
    p = sub.add_parser("transcribe", help="print one JSON line per utterance of a WAV file, via a recognizer")
    p.add_argument("path", type=Path, metavar="PATH.wav")
    p.add_argument("--recognizer", default=None, metavar="NAME", help="default: recognizer.default")
    p.add_argument("--url", default=None, metavar="URL", help="use this endpoint (a fake server, a proxy)")
    _config_arg(p)
    p = sub.add_parser(
        "grammar", help="show what the offline recognizer can hear (missing words, left-out sentences)"
    )
    _config_arg(p)
    p.add_argument("--jsgf", action="store_true", help="print the JSGF grammar itself")
    p = sub.add_parser("handle", help="run the handlers bound to INTENT once (no INTENT: the fallback)")
    p.add_argument("intent", nargs="?", default=None, metavar="INTENT")
    p.add_argument("--slot", action="append", default=[], metavar="NAME=VALUE", help="a slot (repeatable)")
    p.add_argument("--text", default="", help="the transcript handlers see as {text}")
    _config_arg(p)
    return parser


# command name -> (module under assistantd.commands, function mapping parsed args to keyword arguments)
_COMMANDS: dict[str, tuple[str, Callable[[argparse.Namespace], dict[str, Any]]]] = {
    "run": (
        "run",
        lambda a: {"config_path": a.config, "input_path": a.input, "pace": a.pace, "verbose": a.verbose},
    ),
    "check-config": (
        "check_config",
        lambda a: {"config_path": a.config, "credentials_dir": a.credentials_dir},
    ),
    "devices": ("devices", lambda a: {}),
    "capture": (
        "capture",
        lambda a: {
            "out_path": a.out,
            "config_path": a.config,
            "input_path": a.input,
            "seconds": a.seconds,
            "pace": a.pace,
        },
    ),
    "grammar": ("grammar", lambda a: {"config_path": a.config, "jsgf": a.jsgf}),
    "handle": (
        "handle",
        lambda a: {"config_path": a.config, "intent": a.intent, "slots": a.slot, "text": a.text},
    ),
    "segments": ("segments", lambda a: {"path": a.path, "config_path": a.config, "plot": a.plot}),
    "wake": (
        "wake",
        lambda a: {"path": a.path, "config_path": a.config, "model": a.model, "cutoff": a.cutoff},
    ),
    "intents": (
        "intents",
        lambda a: {
            "action": a.intents_command,
            "text": a.text,
            "config_path": a.config,
            "intent_files": a.intents,
        },
    ),
    "transcribe": (
        "transcribe",
        lambda a: {"path": a.path, "recognizer": a.recognizer, "url": a.url, "config_path": a.config},
    ),
}


def setup_logging(verbose: bool) -> None:
    """journald (with structured fields) when stderr is the journal, readable stderr otherwise."""
    from assistantd.systemd import journal_handler, under_journald  # noqa: PLC0415 - keep CLI start fast

    handler: logging.Handler
    if under_journald():
        handler = journal_handler()
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    # websockets logs frames (and on errors, request headers) at DEBUG: never let credentials reach a log.
    logging.getLogger("websockets").setLevel(logging.INFO)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "run":
        # Until the daemon installs its own handler (after the imports and model loading begin), a
        # SIGHUP (a reload sent by someone who edited the config just as it started) would kill it.
        # The config is read after the handler is in place, so an ignored reload loses no edit.
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    setup_logging(args.verbose)
    module_name, to_kwargs = _COMMANDS[args.command]
    # Loading makes only long-lived objects (modules, classes, then the daemon's config and models), so
    # the cyclic collector's passes over them while they are made find next to nothing: ~70 passes, 7 ms
    # of the imports here (issue 13). It is back on once a command is loaded, for ``run`` once the daemon
    # is ready (commands/run.py), and whenever ``run`` returns or fails.
    gc.disable()
    try:
        module = importlib.import_module(f"assistantd.commands.{module_name}")
        if args.command != "run":
            gc.enable()
        result: int = module.run(**to_kwargs(args))
    except AssistantError as err:
        print(f"assistantd {args.command}: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return 130
    finally:
        gc.enable()
    return result
