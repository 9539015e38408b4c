"""Application settings: a JSON file under the user's config dir, and the API key in the OS keychain.

The key is never written to the settings file, never logged and never printed. It comes from the
environment (OPENAI_API_KEY, AZURE_OPENAI_API_KEY) or from the keychain through ``keyring``; where no
keychain exists (a headless Linux box), only the environment can provide it and saving says so.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import platformdirs

from voicedesk.audio.echo import EchoMode
from voicedesk.realtime.endpoint import Endpoint, azure_endpoint, custom_endpoint, openai_endpoint
from voicedesk.realtime.events import ProtocolVersion
from voicedesk.realtime.session_config import SessionSettings, SettingsError, TurnDetection

log = logging.getLogger(__name__)

APP_NAME = "voicedesk"
KEYRING_SERVICE = "voicedesk"
EndpointChoice = Literal["auto", "openai", "azure", "custom", "local"]
ENV_KEYS = {"openai": "OPENAI_API_KEY", "azure": "AZURE_OPENAI_API_KEY", "custom": "OPENAI_API_KEY"}


def config_dir() -> Path:
    return Path(os.environ.get("VOICEDESK_CONFIG_DIR") or platformdirs.user_config_dir(APP_NAME))


def data_dir() -> Path:
    return Path(os.environ.get("VOICEDESK_DATA_DIR") or platformdirs.user_data_dir(APP_NAME))


@dataclass
class AppSettings:
    endpoint: EndpointChoice = "auto"
    """auto: OpenAI when a key is available, else the embedded local server."""
    custom_url: str = ""
    azure_endpoint: str = ""
    azure_deployment: str = ""
    protocol: Literal["auto", "ga", "beta"] = "auto"
    allow_insecure: bool = False
    """Send the key over plain ws:// (http://) to another machine too; by default only wss:// or loopback."""
    session: SessionSettings = field(default_factory=SessionSettings)
    input_device: str | None = None
    output_device: str | None = None
    echo: EchoMode = "aec"
    noise_suppression: bool = False
    """Take steady noise (fans, hum) out of the microphone locally, after echo control (audio/noise.py)."""
    tools: list[str] = field(default_factory=lambda: ["calculator", "get_time", "stop_conversation"])
    session_timeout_s: float | None = 3000.0
    """Renew the server session at the first quiet moment after this long (the service ends it at 60 minutes)."""
    response_timeout_s: float = 20.0
    """An answer with no word from the server for this long counts as lost (the session moves on)."""
    disabled_tools: list[str] = field(default_factory=list)
    """Tools from the tools folder or MCP servers switched off (built-ins are chosen in ``tools``)."""
    tool_policies: dict[str, str] = field(default_factory=dict)
    """Approval by tool name: always / ask / never (others: built-ins always, the rest ask)."""
    keep_history: bool = True
    """Store every conversation in the history (searchable, resumable), under the data dir, 0600."""
    keep_audio: bool = False
    """Keep both sides' audio of each conversation (FLAC, under the data dir); when off, the audio lives in a
    private folder while the window runs (for exports) and is deleted when it closes."""
    retention_days: int = 0
    """At start, delete conversations and kept audio older than this many days (0: keep them)."""
    global_shortcut: str = "Ctrl+Alt+Space"
    """Push-to-talk from any application: hold to talk, release to send (mutes/unmutes with voice detection)."""
    global_shortcut_enabled: bool = True
    keep_in_tray: bool = True
    """Closing the window keeps the session running in the tray (only where the desktop has a tray)."""
    mic_sounds: bool = True
    """A short quiet tick when the microphone opens and closes."""
    ui: dict[str, Any] = field(default_factory=dict)
    """Window geometry, splitter sizes and other view state, owned by the GUI."""

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["session"]["output_modalities"] = list(self.session.output_modalities)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AppSettings:
        """Unknown keys are ignored and bad values fall back to defaults, so an old or hand-edited file
        never stops the app from starting."""
        defaults = cls()
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known and k != "session"}
        for name, value in list(values.items()):
            default = getattr(defaults, name)
            wanted = type(default) if default is not None and not isinstance(default, float) else None
            if wanted is not None and type(value) is not wanted:  # a hand-edited "yes" for a switch, say
                log.warning("ignoring the saved %s: %r is not a %s", name, value, wanted.__name__)
                del values[name]
        raw_session = data.get("session")
        session_data: dict[str, Any] = raw_session if isinstance(raw_session, dict) else {}
        try:
            settings = cls(**values, session=_session_from_json(session_data))
        except TypeError:
            return defaults
        return settings


def _session_from_json(data: dict[str, Any]) -> SessionSettings:
    known = {f.name for f in dataclasses.fields(SessionSettings)}
    values = {k: v for k, v in data.items() if k in known and k != "turn_detection"}
    if "output_modalities" in values:
        values["output_modalities"] = tuple(values["output_modalities"])
    raw_td = data.get("turn_detection")
    td_data: dict[str, Any] = raw_td if isinstance(raw_td, dict) else {}
    td_known = {f.name for f in dataclasses.fields(TurnDetection)}
    try:
        session = SessionSettings(
            **values, turn_detection=TurnDetection(**{k: v for k, v in td_data.items() if k in td_known})
        )
        session.validate()
    except (TypeError, SettingsError) as exc:
        log.warning("ignoring invalid saved model settings: %s", exc)
        return SessionSettings()
    return session


def settings_path() -> Path:
    return config_dir() / "settings.json"


def load_settings(path: Path | None = None) -> AppSettings:
    path = path or settings_path()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return AppSettings()
    except (OSError, ValueError) as exc:
        log.warning("could not read %s (%s); using defaults", path, exc)
        return AppSettings()
    return AppSettings.from_json(data) if isinstance(data, dict) else AppSettings()


def save_settings(settings: AppSettings, path: Path | None = None) -> None:
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(settings.to_json(), handle, indent=2)
    os.replace(tmp, path)


# ---------------------------------------------------------------------- the API key


class KeyStoreError(Exception):
    pass


def stored_key(kind: str) -> str | None:
    """The key from the environment, else from the OS keychain; None when there is none."""
    env_name = ENV_KEYS.get(kind)
    if env_name and os.environ.get(env_name):
        return os.environ[env_name]
    if os.environ.get("VOICEDESK_NO_KEYRING"):
        return None
    try:
        import keyring
        import keyring.errors

        return keyring.get_password(KEYRING_SERVICE, kind)
    except Exception as exc:  # no backend, locked keychain, D-Bus trouble: behave as "no key stored"
        log.info("keychain unavailable: %s", type(exc).__name__)
        return None


def store_key(kind: str, key: str | None) -> None:
    """Save (or with None, forget) the key in the OS keychain; raises KeyStoreError with a reason."""
    try:
        import keyring

        if key:
            keyring.set_password(KEYRING_SERVICE, kind, key)
        else:
            keyring.delete_password(KEYRING_SERVICE, kind)
    except Exception as exc:
        raise KeyStoreError(
            f"the system keychain is not available ({type(exc).__name__}); set {ENV_KEYS.get(kind, 'the key')} "
            "in the environment instead"
        ) from None


def mask_key(key: str) -> str:
    return key[:3] + "…" + key[-4:] if len(key) > 10 else "…"


# ---------------------------------------------------------------------- resolving the endpoint


class ConfigError(ValueError):
    """The options do not describe a usable endpoint; the message says what to do."""


@dataclass(frozen=True)
class ResolvedEndpoint:
    endpoint: Endpoint | None
    """None means: start the embedded local server and connect to it."""
    reason: str


def resolve_endpoint(settings: AppSettings) -> ResolvedEndpoint:
    protocol: ProtocolVersion | None = None if settings.protocol == "auto" else settings.protocol
    choice = settings.endpoint
    model = settings.session.model
    if choice == "azure":
        if not settings.azure_endpoint:
            raise ConfigError("the Azure endpoint URL is missing (--azure-endpoint https://NAME.openai.azure.com)")
        key = stored_key("azure")
        token = os.environ.get("AZURE_OPENAI_AD_TOKEN")
        if not key and not token:
            raise ConfigError("no Azure key: set AZURE_OPENAI_API_KEY (or AZURE_OPENAI_AD_TOKEN for Entra ID)")
        endpoint = azure_endpoint(
            settings.azure_endpoint,
            settings.azure_deployment,
            api_key=key,
            bearer_token=token if not key else None,
            protocol=protocol,
            allow_insecure=settings.allow_insecure,
        )
        return ResolvedEndpoint(endpoint, "Azure OpenAI")
    if choice == "custom":
        if not settings.custom_url:
            raise ConfigError("the custom endpoint URL is missing (--url wss://HOST/v1/realtime?model=M)")
        endpoint = custom_endpoint(
            settings.custom_url, stored_key("custom"), protocol, allow_insecure=settings.allow_insecure
        )
        return ResolvedEndpoint(endpoint, "custom URL")
    if choice == "local":
        return ResolvedEndpoint(None, "the embedded local server")
    key = stored_key("openai")
    if key:
        return ResolvedEndpoint(openai_endpoint(model, key, protocol or "ga"), "OpenAI")
    if choice == "openai":
        raise ConfigError("no OpenAI API key: set OPENAI_API_KEY or enter the key in Settings")
    return ResolvedEndpoint(None, "no API key is set, so voicedesk uses its embedded local server")
