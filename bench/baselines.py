"""Baseline segmenters the endpointer is measured against, driven over a whole file of 16 kHz s16le PCM.

Each returns ``Interval``s in seconds: the audio the system would upload, from the moment it decides speech
started to the moment it decides speech ended (pre-roll included where the system keeps one).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

from bench.metrics import Interval

SAMPLE_RATE = 16000
BYTES_PER_SECOND = SAMPLE_RATE * 2


def bare_webrtcvad(
    pcm: bytes,
    aggressiveness: int,
    frame_ms: int = 30,
    hangover_s: float = 0.7,
    clean: Callable[[bytes], bytes] | None = None,
) -> list[Interval]:
    """The approach most projects begin with: webrtcvad per frame, start on the first voiced frame, end after
    ``hangover_s`` of unvoiced frames, no pre-roll and no minimum length. ``clean`` (noise suppression, see
    ``ns_webrtcvad``) is applied to each frame before webrtcvad sees it.

    The segment runs from the start of the first voiced frame to the end of the frame that completed the
    hangover: that is what a streaming client would have sent.
    """
    import webrtcvad

    vad = webrtcvad.Vad(aggressiveness)
    step = SAMPLE_RATE * frame_ms // 1000 * 2
    frame_s = frame_ms / 1000
    segments: list[Interval] = []
    start: float | None = None
    last_voiced = 0.0
    for i in range(len(pcm) // step):
        t0 = i * frame_s
        frame = pcm[i * step : (i + 1) * step]
        voiced = vad.is_speech(frame if clean is None else clean(frame), SAMPLE_RATE)
        if voiced:
            if start is None:
                start = t0
            last_voiced = t0 + frame_s
        elif start is not None and t0 + frame_s - last_voiced >= hangover_s - 1e-9:
            segments.append(Interval(start, t0 + frame_s))
            start = None
    if start is not None:
        segments.append(Interval(start, len(pcm) // step * frame_s))
    return segments


def ns_webrtcvad(pcm: bytes, aggressiveness: int = 2, ns_level: int = 2) -> list[Interval]:
    """``bare_webrtcvad`` behind WebRTC noise suppression (webrtc-noise-gain, 10 ms at a time, no gain
    control): the cheapest front end that resists steady noise, and the floor for the daemon's CPU (issue 13:
    its loop is to cost at most twice this)."""
    from webrtc_noise_gain import AudioProcessor

    process = AudioProcessor(0, ns_level).Process10ms
    ten_ms = SAMPLE_RATE // 100 * 2

    def clean(frame: bytes) -> bytes:
        return b"".join([process(frame[i : i + ten_ms]).audio for i in range(0, len(frame), ten_ms)])

    return bare_webrtcvad(pcm, aggressiveness, clean=clean)


def rhasspy_silence(pcm: bytes) -> list[Interval]:
    """rhasspy-silence 0.4.0's ``WebRtcVadRecorder`` with its defaults, driven as Rhasspy drives it.

    Defaults: webrtcvad mode 3, 30 ms chunks (960 bytes), 0.3 s of consecutive speech to start, 0.5 s kept
    from before, 1 s minimum, 0.5 s of silence to stop, 30 s maximum. Like its own CLI, every result ends the
    command and is followed by ``stop()`` + ``start()`` (which drops the one chunk still pending in its input
    buffer). A SUCCESS result carries the audio it recorded (pre-roll + phrase), which ends at the last chunk
    it processed, so the segment is that many seconds back from there. A TIMEOUT after 30 s of listening
    ends a phrase in progress (its audio, from ``stop()``, was streamed already) and otherwise only restarts.

    Its stop rule counts unvoiced chunks after the first second without resetting on speech, so 0.5 s of
    unvoiced chunks in total, not in a row, ends a phrase.
    """
    with warnings.catch_warnings():
        # rhasspy-silence imports audioop, deprecated since Python 3.11 and gone in 3.13: it runs on the
        # 3.11 of Raspberry Pi OS bookworm, and the warning is about it, not about this benchmark.
        warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
        from rhasspysilence import WebRtcVadRecorder
        from rhasspysilence.const import VoiceCommandResult

    recorder = WebRtcVadRecorder()
    chunk = recorder.chunk_size
    segments: list[Interval] = []

    def add(audio: bytes, processed: int) -> None:
        if audio:
            end = processed / BYTES_PER_SECOND
            segments.append(Interval(end - len(audio) / BYTES_PER_SECOND, end))

    recorder.start()
    fed = 0
    for offset in range(0, len(pcm) - chunk + 1, chunk):
        result = recorder.process_chunk(pcm[offset : offset + chunk])
        fed = offset + chunk
        if result is None:
            continue
        processed = fed - len(recorder.current_chunk)
        if result.result == VoiceCommandResult.SUCCESS:
            add(result.audio_data or b"", processed)
            recorder.stop()
        else:
            in_phrase = recorder.in_phrase
            audio = recorder.stop()
            if in_phrase:
                add(audio, processed)
        recorder.start()
    if recorder.in_phrase:
        processed = fed - len(recorder.current_chunk)
        add(recorder.stop(), processed)
    return segments
