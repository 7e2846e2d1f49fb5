"""``recognizer.volcengine`` and ``recognizer.zyun``: the sauc v3 framing (protocols.md §1, §2)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from assistantd.config.reader import Node
from assistantd.config.secret import Secret
from assistantd.urls import public_url

VOLC_HOST = "wss://openspeech.bytedance.com/api/v3/sauc/"
VOLC_MODES = ("bigmodel", "bigmodel_async", "bigmodel_nostream")
VOLC_DEFAULT_URL = VOLC_HOST + "bigmodel_async"
VOLC_RESOURCE_IDS = (
    "volc.bigasr.sauc.duration",  # model 1.0, hourly billing
    "volc.bigasr.sauc.concurrent",  # model 1.0, concurrency billing
    "volc.seedasr.sauc.duration",  # model 2.0, hourly billing
    "volc.seedasr.sauc.concurrent",  # model 2.0, concurrency billing
)
ZYUN_DEFAULT_URL = "ws://audio-asr.api.zyuncs.com/sauc"
"""The URL in 360's published sample (plain ws, protocols.md §2)."""


def ws_url_problem(url: str) -> str | None:
    """What is wrong with ``url`` as a WebSocket endpoint (an expectation for a ConfigError), or None.

    The checks the WebSocket client would make only at the first utterance, done at load time so that
    check-config reports them: scheme ws/wss, a host, and a port (when given) from 1 to 65535.
    """
    expected = "expected a ws:// or wss:// URL with a host"
    try:
        parts = urlsplit(url)
        port = parts.port  # urllib raises here for a port out of range or not a number
    except ValueError:
        return expected
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        return expected
    if port == 0:
        return "expected a ws:// or wss:// URL with a port from 1 to 65535"
    return None


def check_ws_url(node: Node, key: str, url: str) -> str:
    """``url`` when it is a usable WebSocket endpoint; else the ConfigError naming ``key``."""
    problem = ws_url_problem(url)
    if problem is not None:  # shown without user information or query: they may hold a secret
        raise node.error(key, problem, public_url(url))
    return url


@dataclass(frozen=True)
class SaucOptions:
    """The ``request`` options of the full client request (protocols.md §1.5), shared by both vendors."""

    enable_itn: bool = True
    """Inverse text normalization ("twenty one" -> "21")."""
    enable_punc: bool = True
    """Punctuation."""
    enable_ddc: bool = False
    """Disfluency removal ("smoothing")."""
    result_type: str = "full"
    """``full`` (cumulative text) or ``single`` (earlier sentences not repeated)."""
    end_window_size_ms: int | None = None
    """Server-side end-of-sentence silence in milliseconds (>= 200); null = the vendor's default (800)."""
    force_to_speech_time_ms: int | None = None
    """Milliseconds of audio before the server tries to finalize (>= 1; use with end_window_size_ms)."""
    hotwords: tuple[str, ...] = ()
    """Words to favour, sent as corpus.context ``{"hotwords": [...]}`` (about 100 tokens when streaming)."""
    uid: str = "assistantd"
    """``user.uid``, used by the vendor's console for log filtering; not a secret."""

    @classmethod
    def from_node(cls, node: Node) -> SaucOptions:
        """Reads its keys from ``node`` without finishing it (they sit beside the vendor's own keys)."""
        return cls(
            enable_itn=node.flag("enable_itn", cls.enable_itn),
            enable_punc=node.flag("enable_punc", cls.enable_punc),
            enable_ddc=node.flag("enable_ddc", cls.enable_ddc),
            result_type=node.text("result_type", cls.result_type, choices=("full", "single")),
            end_window_size_ms=node.integer("end_window_size_ms", cls.end_window_size_ms, min=200, max=60000),
            force_to_speech_time_ms=node.integer(
                "force_to_speech_time_ms", cls.force_to_speech_time_ms, min=1, max=60000
            ),
            hotwords=node.str_list("hotwords", cls.hotwords),
            uid=node.text("uid", cls.uid),
        )


@dataclass(frozen=True)
class VolcengineConfig:
    app_key: Secret
    """X-Api-App-Key (console APP ID), by reference: ${ENV}, file:PATH or credential:NAME."""
    access_key: Secret
    """X-Api-Access-Key (console access token), by reference."""
    url: str = VOLC_DEFAULT_URL
    """Endpoint: .../bigmodel, .../bigmodel_async or .../bigmodel_nostream (protocols.md §1.1).
    Set ``mode`` instead to pick one of the three on the official host."""
    resource_id: str = "volc.bigasr.sauc.duration"
    """X-Api-Resource-Id: model 1.0 ``volc.bigasr.*``, 2.0 ``volc.seedasr.*`` (protocols.md §1.2)."""
    language: str | None = None
    """``audio.language``, bigmodel_nostream only (e.g. en-US); null = Chinese + English + dialects."""
    options: SaucOptions = SaucOptions()

    @property
    def nostream(self) -> bool:
        return self.url.rstrip("/").endswith("bigmodel_nostream")

    @classmethod
    def from_node(cls, node: Node) -> VolcengineConfig:
        mode = node.text("mode", None, choices=VOLC_MODES)
        if mode is not None and node.has("url"):
            raise node.error("mode", "expected either mode or url, not both")
        url = node.text("url", cls.url) if mode is None else VOLC_HOST + mode
        check_ws_url(node, "url", url)
        cfg = cls(
            app_key=node.secret("app_key"),
            access_key=node.secret("access_key"),
            url=url,
            resource_id=node.text("resource_id", cls.resource_id, choices=VOLC_RESOURCE_IDS),
            language=node.text("language", cls.language),
            options=SaucOptions.from_node(node),
        )
        if cfg.language is not None and not cfg.nostream:
            raise node.error("language", "expected language only with the bigmodel_nostream endpoint")
        node.finish()
        return cfg


@dataclass(frozen=True)
class ZyunConfig:
    api_key: Secret
    """Sent as ``Authorization: Bearer <key>`` (protocols.md §2), by reference."""
    url: str = ZYUN_DEFAULT_URL
    """The 360 zyun sauc endpoint (protocols.md §2); bigmodel_async semantics."""
    options: SaucOptions = SaucOptions()

    @classmethod
    def from_node(cls, node: Node) -> ZyunConfig:
        url = check_ws_url(node, "url", node.text("url", cls.url))
        cfg = cls(api_key=node.secret("api_key"), url=url, options=SaucOptions.from_node(node))
        node.finish()
        return cfg
