"""``assistantd check-config``: everything ``run`` checks before it starts, without starting anything.

The config file, the intent files it names, the handlers bound to those intents: what passes here is what
``run`` (and a SIGHUP reload) accepts.

``credential:`` secrets are read where the daemon would find them: $CREDENTIALS_DIRECTORY when systemd set
it, else the directory the unit loads them from (``--credentials-dir``, by default the installed
/etc/assistantd/credentials), where ``credential:assistantd_NAME`` is the file NAME.
"""

from __future__ import annotations

import os
from pathlib import Path

from assistantd.app import check_bindings
from assistantd.config import load_config
from assistantd.config.secret import INSTALLED_CREDENTIALS_DIR, UNIT_CREDENTIAL_PREFIX
from assistantd.intents.loader import load_matcher


def run(config_path: Path | None, credentials_dir: Path | None = None) -> int:
    if credentials_dir is None and os.environ.get("CREDENTIALS_DIRECTORY"):
        cfg = load_config(config_path)
    else:
        directory = str(credentials_dir) if credentials_dir is not None else INSTALLED_CREDENTIALS_DIR
        cfg = load_config(config_path, credentials_dir=directory, credential_prefix=UNIT_CREDENTIAL_PREFIX)
    matcher = load_matcher(cfg)
    check_bindings(cfg, matcher.intent_names())
    wake = "no wake word"
    if cfg.wake.model is not None:
        from assistantd.endpoint.microwakeword import load_detector  # noqa: PLC0415 - numpy, TFLite

        detector = load_detector(cfg.wake, cfg.source)  # the model loads, as run would load it
        wake = f"wake word {detector.name} at cutoff {detector.cutoff:.2f}"
    print(
        f"{cfg.source}: ok (recognizer {cfg.recognizer.default}, {wake}, {len(matcher.intent_names())} "
        f"intents, {len(cfg.handlers.bindings)} bindings)"
    )
    return 0
