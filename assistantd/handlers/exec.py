"""exec handlers: run a program from an argv list, with the utterance as data, never as shell code.

The program gets the utterance three ways, all as data: JSON on stdin, ASSISTANTD_* environment variables,
and whole argv elements that are exactly one placeholder (checked at load). No shell ever parses any of
it, so ``; rm -rf ~`` in a transcript is just text.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from assistantd.config.handler_specs import ExecSpec
from assistantd.config.secret import Secret
from assistantd.errors import HandlerError
from assistantd.handlers.base import Invocation
from assistantd.handlers.process import one_line, run_process

log = logging.getLogger(__name__)


class ExecHandler:
    def __init__(
        self,
        spec: ExecSpec,
        *,
        name: str,
        base_env: Mapping[str, str],
        kill_grace_s: float,
        output_limit: int,
    ) -> None:
        self.spec = spec
        self._name = name
        self._base_env = dict(base_env)
        self._kill_grace_s = kill_grace_s
        self._output_limit = output_limit

    @property
    def name(self) -> str:
        return self._name

    async def run(self, invocation: Invocation) -> str:
        values = invocation.values()
        argv = [element.render(values) for element in self.spec.argv]
        # Secrets in spec.env stay wrapped until run_process spawns the program.
        env: dict[str, str | Secret] = {**self._base_env, **dict(self.spec.env), **invocation.to_env()}
        result = await run_process(
            argv,
            stdin=invocation.to_json().encode("utf-8"),
            env=env,
            timeout_s=self.spec.timeout_s,
            kill_grace_s=self._kill_grace_s,
            output_limit=self._output_limit,
        )
        if result.output or result.discarded:
            log.info(
                "%s output (%d bytes kept, %d discarded): %s",
                self._name,
                len(result.output),
                result.discarded,
                one_line(result.output.decode("utf-8", errors="replace").rstrip()),
            )
        if result.timed_out:
            raise HandlerError(
                f"timed out after {self.spec.timeout_s:g} s; process group stopped (exit {result.returncode})"
            )
        if result.returncode != 0:
            summary = result.summary()
            raise HandlerError(f"exit status {result.returncode}" + (f": {summary}" if summary else ""))
        return f"exit 0, {len(result.output) + result.discarded} bytes of output"
