"""A throwaway certificate authority for TLS tests, made with the openssl command line.

``make_pki(dir)`` writes a CA, a server certificate for 127.0.0.1 / localhost signed by it, a client
certificate signed by it, and a second CA that signed nothing (a broker it does not vouch for).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

OPENSSL = shutil.which("openssl")


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path
    misnamed_cert: Path
    """Signed by ``ca`` for a host name that is not 127.0.0.1 (what ``insecure`` lets through)."""
    misnamed_key: Path


def _run(*args: str, cwd: Path) -> None:
    assert OPENSSL is not None
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _ca(directory: Path, name: str) -> None:
    _run(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", f"{name}.key", "-out", f"{name}.pem", "-subj", f"/CN=assistantd test {name}",
        cwd=directory,
    )  # fmt: skip


def _signed(directory: Path, name: str, cn: str, extensions: str) -> None:
    (directory / f"{name}.ext").write_text(extensions)
    _run(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
        "-subj", f"/CN={cn}",
        cwd=directory,
    )  # fmt: skip
    _run(
        "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-out", f"{name}.pem", "-extfile", f"{name}.ext",
        cwd=directory,
    )  # fmt: skip


def make_pki(directory: Path) -> Pki:
    directory.mkdir(parents=True, exist_ok=True)
    _ca(directory, "ca")
    _ca(directory, "other")
    _signed(
        directory,
        "server",
        "localhost",
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    )
    _signed(directory, "client", "assistantd-client", "extendedKeyUsage=clientAuth\n")
    _signed(
        directory,
        "misnamed",
        "elsewhere.invalid",
        "subjectAltName=DNS:elsewhere.invalid\nextendedKeyUsage=serverAuth\n",
    )
    return Pki(
        ca=directory / "ca.pem",
        server_cert=directory / "server.pem",
        server_key=directory / "server.key",
        client_cert=directory / "client.pem",
        client_key=directory / "client.key",
        other_ca=directory / "other.pem",
        misnamed_cert=directory / "misnamed.pem",
        misnamed_key=directory / "misnamed.key",
    )
