"""One handler spec per family (``exec``, ``http``, ``mqtt``, ``homeassistant``, ``say``, ``timer``,
``conversation``), checked at load.

Each binding or fallback is a mapping with exactly one family key; ``parse_spec`` finds it and builds the
frozen spec. Templates are parsed here, so a bad placeholder is a ConfigError with its key path, never a
surprise at the moment someone speaks.

A family is declared once, in ``FAMILY_TABLE`` (its key, spec class, parser and the connection block it
needs); its keys are the spec's fields. ``HandlerSpec`` is the closed union of the specs, which
handlers/build.py matches with ``assert_never``, so mypy reports a family that has no handler
(CONTRIBUTING.md has the recipe).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from urllib.parse import urlsplit

from assistantd.config.reader import Node
from assistantd.config.secret import Secret
from assistantd.config.template import JsonTemplate, Template, TemplateSyntaxError
from assistantd.errors import ConfigError

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_HA_NAME = re.compile(r"^[a-z0-9_]+$")
_SECRET_PREFIXES = ("${", "file:", "credential:")


@dataclass(frozen=True)
class ExecSpec:
    argv: tuple[Template, ...]
    """Program and arguments. An element is literal or exactly one placeholder (``"{room}"``)."""
    timeout_s: float = 10.0
    """After this the process group gets SIGTERM, then SIGKILL after handlers.kill_grace_s."""
    env: tuple[tuple[str, str | Secret], ...] = ()
    """Extra environment variables, each a plain value or a Secret revealed only when the program is
    spawned (the daemon's own environment is not passed on)."""


@dataclass(frozen=True)
class SecretHeader:
    """A header whose value is a secret, optionally after a literal prefix (``Bearer ``)."""

    secret: Secret
    prefix: str = ""

    def reveal(self) -> str:
        return self.prefix + self.secret.reveal()


@dataclass(frozen=True)
class HttpSpec:
    url: Template
    """http(s) URL; placeholders may appear only after the host and are percent-encoded."""
    method: str = "POST"
    headers: tuple[tuple[str, str | SecretHeader], ...] = ()
    body: JsonTemplate | None = None
    """JSON body template, sent with Content-Type: application/json."""
    timeout_s: float = 5.0
    """Deadline for the whole request; a non-2xx status (redirects included) is a failure."""


@dataclass(frozen=True)
class MqttSpec:
    topic: Template
    payload: JsonTemplate
    """A string template is sent as it renders; a mapping or list is sent as JSON."""
    qos: int = 0
    retain: bool = False
    timeout_s: float = 5.0
    """How long a publish may wait for the broker; after it the message is withdrawn, never sent late."""


@dataclass(frozen=True)
class HomeAssistantSpec:
    domain: str
    service: str
    data: JsonTemplate
    """Service data (JSON object template) for POST /api/services/<domain>/<service>."""


@dataclass(frozen=True)
class SaySpec:
    text: Template
    """What to say, through the handlers.tts command."""


@dataclass(frozen=True)
class ConversationSpec:
    """Home Assistant's conversation API (``POST /api/conversation/process``) through the
    ``handlers.homeassistant`` connection; its spoken reply goes through ``handlers.tts``."""

    text: Template = Template.parse("{text}")
    """What to send as ``text``: by default the utterance as recognized."""
    language: str | None = None
    """``language`` (e.g. en, de); null lets Home Assistant use its configured language."""
    agent_id: str | None = None
    """``agent_id``: a conversation agent (e.g. conversation.home_assistant or an LLM agent's entity);
    null for the default agent."""
    follow_up_s: float = 300.0
    """The ``conversation_id`` Home Assistant returns is sent with this site's next request when it comes
    within this many seconds of the last reply (so "and in the bedroom?" follows up); 0 for never."""
    timeout_s: float = 15.0
    """Deadline for Home Assistant's answer (an LLM agent may take seconds)."""
    speak: bool = True
    """Speak the reply (``response.speech.plain.speech``); false to only act."""


TIMER_ACTIONS = ("start", "cancel", "status")
TIMER_LANGUAGES = ("en", "zh")


@dataclass(frozen=True)
class TimerSpec:
    action: str
    """start (the duration is the sum of the ``hours``, ``minutes`` and ``seconds`` slots; an optional
    ``name`` slot names it), cancel (the named timer, else all), or status (how long is left)."""
    reply: Template | None = None
    """Said (handlers.tts) after the action; null: the language's own sentence. Placeholders: the slots,
    plus {duration} and {timer} (start), {count} (cancel); status says it once per running timer, soonest
    first, with {left}, {duration} and {timer}."""
    alarm: Template | None = None
    """start only: said when the timer is up, after feedback.alarm; null: the language's own sentence
    ("The 5 minute timer is done"). Placeholders: the slots, {duration} and {timer}."""
    language: str = "en"
    """en or zh: how {duration} and {left} are spoken, and the default sentences."""


HandlerSpec = ExecSpec | HttpSpec | MqttSpec | HomeAssistantSpec | SaySpec | TimerSpec | ConversationSpec
"""Every family's spec: handlers/build.py matches on it and ends in ``assert_never``."""


@dataclass(frozen=True)
class Family:
    """One handler family as the config sees it: ``{name: {...}}`` in a binding or fallback."""

    name: str
    """The family's key in a binding (``exec``, ``say``, ...)."""
    spec: type[HandlerSpec]
    """Its spec class; the keys accepted in its block are this class's fields."""
    parse: Callable[[Node], HandlerSpec]
    """Reads the block into a spec (the caller refuses unknown keys first and finishes the node)."""
    connection: str | None = None
    """The ``handlers:`` connection block it needs (``mqtt``, ``homeassistant``), if any."""

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(f.name for f in fields(self.spec))


def template(node: Node, key: str, value: object) -> Template:
    if not isinstance(value, str):
        raise node.error(key, "expected a string template", value)
    try:
        return Template.parse(value)
    except TemplateSyntaxError as err:
        raise node.error(key, f"expected {err}", value) from None


def json_template(node: Node, key: str, value: object) -> JsonTemplate:
    try:
        return JsonTemplate.parse(value)
    except TemplateSyntaxError as err:
        raise node.error(key, f"expected {err}") from None


def parse_spec(node: Node, *, extra_keys: tuple[str, ...] = ()) -> HandlerSpec:
    """The one family in ``node`` (other keys must be in ``extra_keys`` and read by the caller)."""
    return parse_family(node, extra_keys=extra_keys)[1]


def parse_family(node: Node, *, extra_keys: tuple[str, ...] = ()) -> tuple[Family, HandlerSpec]:
    """The one family in ``node`` and its spec (other keys must be in ``extra_keys``)."""
    known = FAMILIES + extra_keys
    node.refuse_unknown(known)
    present = [k for k in node.keys() if k in FAMILIES]  # noqa: SIM118
    if len(present) != 1:
        raise ConfigError(
            node.ctx.source,
            node.path,
            f"expected exactly one handler ({', '.join(FAMILIES)})",
            ", ".join(present) if present else "none",
        )
    family = _BY_NAME[present[0]]
    sub = node.node(family.name)
    # Checked before the required keys are read, so a typo gets a hint rather than "text: not set".
    sub.refuse_unknown(family.keys)
    spec = family.parse(sub)
    sub.finish()
    return family, spec


def _exec(node: Node) -> ExecSpec:
    raw = node.raw("argv")
    if not isinstance(raw, list) or not raw or not all(isinstance(a, str) for a in raw):
        raise node.error("argv", "expected a non-empty list of strings (a program and its arguments)", raw)
    argv: list[Template] = []
    for i, element in enumerate(raw):
        key = f"argv[{i}]"
        tpl = template(node, key, element)
        if tpl.fields and tpl.whole_field is None:
            # A value spliced into part of an argument ("--room={room}") invites injection into
            # option parsing; a whole element stays one argument whatever it holds.
            raise node.error(
                key, 'expected a placeholder to fill a whole element ("{room}"), not part', element
            )
        if i == 0 and tpl.fields:
            raise node.error(key, "expected a literal program, not a placeholder", element)
        argv.append(tpl)
    return ExecSpec(
        argv=tuple(argv),
        timeout_s=node.number("timeout_s", ExecSpec.timeout_s, min=0.05, max=3600),
        env=parse_env(node.node("env")),
    )


def parse_env(node: Node) -> tuple[tuple[str, str | Secret], ...]:
    """Variables for an exec program: plain scalars, or secret references kept out of the config.

    A string that looks like a reference (``${NAME}``, ``file:``, ``credential:``) is one, as in
    ``headers``; a plain value that starts that way cannot be written, which no real one needs.
    """
    out: list[tuple[str, str | Secret]] = []
    for name in node.keys():  # noqa: SIM118 - Node is not a Mapping
        if not _ENV_NAME.match(name) or name.upper().startswith("ASSISTANTD_"):
            raise node.error(name, "expected a variable name not starting with ASSISTANTD_")
        value = node.raw(name)
        if isinstance(value, str) and value.strip().startswith(_SECRET_PREFIXES):
            out.append((name, node.secret(name)))
        elif isinstance(value, str | int | float):  # bool is an int: YAML true becomes "True"
            out.append((name, str(value)))
        else:
            # Never echo: the value may be a credential in the wrong shape.
            raise node.error(name, "expected a string, number, boolean or secret reference ${ENV_NAME}")
    return tuple(sorted(out, key=lambda item: item[0]))


def _http(node: Node) -> HttpSpec:
    url = template(node, "url", node.raw("url"))
    prefix = url.parts[0][0] if url.parts and url.parts[0][1] is None else ""
    split = urlsplit(prefix)
    if split.scheme not in ("http", "https") or not split.netloc or (url.fields and not split.path):
        raise node.error(
            "url",
            "expected an http:// or https:// URL with a literal host (placeholders after it)",
            url.source,
        )
    body = node.raw("body", HttpSpec.body)
    return HttpSpec(
        url=url,
        method=node.text("method", HttpSpec.method, choices=HTTP_METHODS),
        headers=parse_headers(node.node("headers")),
        body=None if body is None else json_template(node, "body", body),
        timeout_s=node.number("timeout_s", HttpSpec.timeout_s, min=0.05, max=600),
    )


def parse_headers(node: Node) -> tuple[tuple[str, str | SecretHeader], ...]:
    out: list[tuple[str, str | SecretHeader]] = []
    for name in node.keys():  # noqa: SIM118 - Node is not a Mapping
        if not _HEADER_NAME.match(name):
            raise node.error(name, "expected an HTTP header name (letters, digits, '-')")
        value = node.raw(name)
        if isinstance(value, str) and value.strip().startswith(_SECRET_PREFIXES):
            out.append((name, SecretHeader(node.secret(name))))
        elif isinstance(value, str):
            if "\r" in value or "\n" in value:
                raise node.error(name, "expected a header value on one line")
            out.append((name, value))
        elif isinstance(value, dict):
            sub = node.node(name)
            prefix = sub.raw("prefix", SecretHeader.prefix)
            if not isinstance(prefix, str) or "\r" in prefix or "\n" in prefix:
                raise sub.error("prefix", "expected a one-line string such as 'Bearer '", prefix)
            out.append((name, SecretHeader(sub.secret("secret"), prefix)))
            sub.finish()
        else:
            # Never echo: a header value is often a credential.
            raise node.error(name, "expected a string, a secret reference, or {secret: REF, prefix: TEXT}")
    return tuple(out)


def _mqtt(node: Node) -> MqttSpec:
    topic = template(node, "topic", node.raw("topic"))
    literal = "".join(text for text, name in topic.parts if name is None)
    if not topic.source or "+" in literal or "#" in literal or "\0" in literal:
        raise node.error("topic", "expected a non-empty topic without the wildcards + and #", topic.source)
    return MqttSpec(
        topic=topic,
        payload=json_template(node, "payload", node.raw("payload", "")),
        qos=node.integer("qos", MqttSpec.qos, min=0, max=2),
        retain=node.flag("retain", MqttSpec.retain),
        timeout_s=node.number("timeout_s", MqttSpec.timeout_s, min=0.05, max=600),
    )


def _homeassistant(node: Node) -> HomeAssistantSpec:
    names = {}
    for key in ("domain", "service"):
        value = node.text(key)
        if not _HA_NAME.match(value):
            raise node.error(key, "expected a Home Assistant name (lower-case letters, digits, _)", value)
        names[key] = value
    data = node.raw("data", {})
    if not isinstance(data, dict):
        raise node.error("data", "expected a mapping (the service data)", data)
    return HomeAssistantSpec(
        domain=names["domain"], service=names["service"], data=json_template(node, "data", data)
    )


def _conversation(node: Node) -> ConversationSpec:
    raw = node.raw("text", None)
    agent = node.text("agent_id", ConversationSpec.agent_id)
    if agent is not None and not re.fullmatch(r"[A-Za-z0-9_.-]+", agent):
        raise node.error("agent_id", "expected an agent id such as conversation.home_assistant", agent)
    return ConversationSpec(
        text=ConversationSpec.text if raw is None else template(node, "text", raw),
        language=node.text("language", ConversationSpec.language),
        agent_id=agent,
        follow_up_s=node.number("follow_up_s", ConversationSpec.follow_up_s, min=0, max=86400),
        timeout_s=node.number("timeout_s", ConversationSpec.timeout_s, min=0.05, max=600),
        speak=node.flag("speak", ConversationSpec.speak),
    )


def _say(node: Node) -> SaySpec:
    return SaySpec(text=template(node, "text", node.raw("text")))


def _timer(node: Node) -> TimerSpec:
    action = node.text("action", choices=TIMER_ACTIONS)
    reply = node.raw("reply", TimerSpec.reply)
    alarm = node.raw("alarm", TimerSpec.alarm)
    if alarm is not None and action != "start":
        raise node.error("alarm", "expected an alarm only with action: start", alarm)
    return TimerSpec(
        action=action,
        reply=None if reply is None else template(node, "reply", reply),
        alarm=None if alarm is None else template(node, "alarm", alarm),
        language=node.text("language", TimerSpec.language, choices=TIMER_LANGUAGES),
    )


FAMILY_TABLE = (
    Family("exec", ExecSpec, _exec),
    Family("http", HttpSpec, _http),
    Family("mqtt", MqttSpec, _mqtt, connection="mqtt"),
    Family("homeassistant", HomeAssistantSpec, _homeassistant, connection="homeassistant"),
    Family("say", SaySpec, _say),
    Family("timer", TimerSpec, _timer),
    Family("conversation", ConversationSpec, _conversation, connection="homeassistant"),
)
"""Every handler family, in the order error messages list them. A new family is one line here."""

_BY_NAME = {family.name: family for family in FAMILY_TABLE}
FAMILIES = tuple(_BY_NAME)
FAMILY_KEYS = {family.name: family.keys for family in FAMILY_TABLE}
