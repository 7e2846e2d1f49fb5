"""What the pipeline sees of any recognizer, cloud or local."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable
from dataclasses import dataclass, field
from typing import Protocol

from assistantd.errors import RecognizerError
from assistantd.recognizer.rejection import Verdict


@dataclass(frozen=True)
class Transcript:
    """The final text of one utterance and where it came from."""

    text: str
    recognizer: str
    """Name of the recognizer that produced the text (local, volcengine, zyun, huawei)."""
    utterances: tuple[str, ...] = field(default=())
    session_id: str = ""
    """Vendor trace id (X-Tt-Logid, trace_id), for support; never a secret."""
    attempts: int = 1
    """Connections it took (2 after one retry)."""
    note: str = ""
    """Why this recognizer produced it when that is not obvious (e.g. a fallback after a failure)."""
    fell_back: bool = False
    """The configured recognizer failed and the fallback recognizer produced the text."""
    verdict: Verdict | None = None
    """The offline recognizer's second opinion on its grammar sentence (rejection.py); None when no
    check ran (cloud recognizers, open mode, rejection off)."""

    @property
    def rejected(self) -> bool:
        """The text is only the grammar's nearest command to something else: do not act on it."""
        return self.verdict is not None and not self.verdict.accepted


class RecognitionFailed(RecognizerError):  # noqa: N818 - reads as an event, like asyncio.CancelledError
    """An utterance could not be recognized. ``fatal`` means retrying will not help (bad credentials)."""

    def __init__(self, recognizer: str, reason: str, *, fatal: bool = False) -> None:
        self.recognizer = recognizer
        self.reason = reason
        self.fatal = fatal
        super().__init__(f"{recognizer}: {reason}")


class Recognizer(Protocol):
    """Recognizes one utterance per call, consuming audio live as the endpointer produces it."""

    name: str

    async def transcribe(self, audio: AsyncIterable[bytes]) -> Transcript:
        """Consume 16 kHz mono s16le chunks until the iterator ends (the endpoint), return the final text.

        Implementations start connecting (or decoding) at once, so set-up overlaps with the person talking.
        Raises RecognitionFailed; never anything else on a server's or network's account.
        """
        ...


async def start_recognizer(recognizer: Recognizer) -> None:
    """Load what the recognizer needs before the first utterance, for those that have a ``start()``
    (the local decoder and grammar); cloud recognizers connect per utterance and have none."""
    start = getattr(recognizer, "start", None)
    if start is not None:
        await start()


def hurry_recognizer(recognizer: Recognizer) -> None:
    """The daemon is stopping: a recognizer that can answer sooner (a fallback waiting on a stalled
    cloud) should do so now, inside the shutdown grace. Those without a ``hurry()`` need nothing."""
    hurry = getattr(recognizer, "hurry", None)
    if hurry is not None:
        hurry()


async def close_recognizer(recognizer: Recognizer, deadline_s: float) -> None:
    """Release what a recognizer holds (the local decoder thread): ``aclose(deadline_s)`` for those that
    wait for threads (off the loop, never longer than ``deadline_s``), else ``close()``, sync or async."""
    aclose = getattr(recognizer, "aclose", None)
    if aclose is not None:
        await aclose(deadline_s)
        return
    close = getattr(recognizer, "close", None)
    if close is not None:
        result = close()
        if inspect.isawaitable(result):
            await result
