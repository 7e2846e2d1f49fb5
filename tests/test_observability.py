"""The Prometheus endpoint over a real TCP socket, and the bounded utterance WAV directory."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

from assistantd.debug_wav import UtteranceSaver
from assistantd.metrics import Metrics
from assistantd.metrics_http import serve_metrics


async def _get(port: int, path: str) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    return data


async def test_metrics_endpoint_serves_prometheus_text() -> None:
    metrics = Metrics()
    metrics.inc("utterances", 7)
    server = await serve_metrics(metrics.prometheus, port=0)
    port = server.sockets[0].getsockname()[1]
    try:
        ok = await _get(port, "/metrics")
        assert ok.startswith(b"HTTP/1.1 200 OK")
        assert b"assistantd_utterances_total 7\n" in ok
        missing = await _get(port, "/")
        assert missing.startswith(b"HTTP/1.1 404")
    finally:
        server.close()
        await server.wait_closed()


def test_saver_keeps_a_bounded_number_of_wavs(tmp_path: Path) -> None:
    (tmp_path / "utts").mkdir()
    (tmp_path / "utts" / "my-own-recording.wav").write_bytes(b"keep me")
    saver = UtteranceSaver(tmp_path / "utts", max_files=3, clock=lambda: 0.0)
    for i in range(5):
        saver.save(f"u{i}", bytes(3200 * (i + 1)))
    prefix = saver.prefix
    names = sorted(p.name for p in (tmp_path / "utts").glob(f"{prefix}-*.wav"))
    assert names == [f"{prefix}-u2.wav", f"{prefix}-u3.wav", f"{prefix}-u4.wav"]
    assert (tmp_path / "utts" / "my-own-recording.wav").read_bytes() == b"keep me"
    # A restarted daemon numbers its utterances from 1 again: its files must not replace these.
    later = UtteranceSaver(tmp_path / "utts", max_files=10, clock=lambda: 3600.0)
    later.save("u2", b"\0\0")
    assert len(list((tmp_path / "utts").glob("*T*-u*.wav"))) == 4
    with wave.open(str(tmp_path / "utts" / f"{prefix}-u4.wav"), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getnframes()) == (16000, 1, 8000)


def test_saver_never_raises_on_disk_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert UtteranceSaver(blocker / "utts", max_files=3).save("u0", b"\0\0") is None
