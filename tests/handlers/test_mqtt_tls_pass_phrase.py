"""An encrypted client key never makes OpenSSL ask for a pass phrase on the terminal.

Config refuses such a key when it is loaded, but the file can be replaced before a reconnect builds the
TLS context again. OpenSSL's default pass phrase callback prompts on the controlling terminal and waits,
on the event loop: the context is built in a child process that has a pseudo-terminal as its controlling
terminal, as the daemon has when started by hand, and must fail instead of prompting.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.mqtt_certs import OPENSSL, make_pki

WAIT_S = 30.0
"""Bounds the child: only a prompt that waits for an answer reaches it."""
PROMPT = b"Enter PEM pass phrase"
"""What OpenSSL's default callback writes to the terminal before it waits."""
CHILD = """
import sys
from assistantd.config.mqtt_tls import MqttTls
from assistantd.mqtt_client import tls_context
try:
    tls_context(MqttTls(ca_file=sys.argv[1], cert_file=sys.argv[2], key_file=sys.argv[3]))
except OSError as err:
    print("REFUSED", err, flush=True)
else:
    print("ACCEPTED", flush=True)
"""


def test_an_encrypted_key_fails_without_prompting_on_the_terminal(tmp_path: Path) -> None:
    if OPENSSL is None:
        pytest.fail("openssl is not installed (apt-get install openssl)")
    pki = make_pki(tmp_path / "pki")
    key = tmp_path / "encrypted.key"
    subprocess.run(
        [OPENSSL, "pkey", "-in", str(pki.client_key), "-aes256", "-passout", "pass:secret", "-out", str(key)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    args = [sys.executable, "-c", CHILD, str(pki.ca), str(pki.client_cert), str(key)]
    pid, master = pty.fork()
    if pid == 0:  # the child: a new session whose controlling terminal is the pty
        try:
            os.chdir(Path(__file__).parents[2])
            os.execv(sys.executable, args)
        finally:
            os._exit(127)
    output = b""
    deadline = time.monotonic() + WAIT_S
    try:
        while time.monotonic() < deadline and PROMPT not in output:
            ready, _, _ = select.select([master], [], [], 0.2)
            if not ready:
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child exited and closed the terminal
                break
            if not chunk:
                break
            output += chunk
    finally:
        if os.waitpid(pid, os.WNOHANG) == (0, 0):
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(master)
    text = output.decode(errors="replace")
    assert PROMPT.decode() not in text, text
    assert "REFUSED the private key is encrypted" in text, text
