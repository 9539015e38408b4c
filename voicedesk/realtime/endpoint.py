"""Where to connect and how to authenticate: OpenAI, Azure OpenAI (GA and preview), or any URL."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

from voicedesk.realtime.events import ProtocolVersion

EndpointKind = Literal["openai", "azure", "custom", "local"]
OPENAI_REALTIME_URL = "wss://api.openai.com/v1/realtime"
AZURE_PREVIEW_API_VERSION = "2025-04-01-preview"
AZURE_RESOURCE_URL = "an Azure resource URL (https://NAME.openai.azure.com)"
WEBSOCKET_URL = "a websocket URL (it should start with wss:// or ws://)"


class EndpointError(ValueError):
    """An endpoint URL or option that cannot work; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    kind: EndpointKind
    url: str
    protocol: ProtocolVersion
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    """Carries the credential: never printed (repr=False) and never logged."""

    def describe(self) -> str:
        """A human description without any secret."""
        parts = urlsplit(self.url)
        host = parts.netloc.rpartition("@")[2]  # never user:password@
        return f"{self.kind} endpoint {parts.scheme}://{host}{parts.path} ({self.protocol})"


def _ws_scheme(url: str) -> str:
    if url.startswith("https://"):
        return "wss://" + url[len("https://") :]
    if url.startswith("http://"):
        return "ws://" + url[len("http://") :]
    return url


def _with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def parse_ws_url(url: str, what: str = WEBSOCKET_URL, *, given: str | None = None) -> SplitResult:
    """The parts of a ws:// or wss:// URL with a host and a valid port; EndpointError names what is wrong,
    quoting the URL as the person ``given`` it (https:// rather than the wss:// it became).

    urllib raises for a bad port only when ``.port`` is read, and then with no word of the URL: everything
    is checked here, before any connection or server starts.
    """
    shown = without_userinfo(url if given is None else given)
    try:
        parts = urlsplit(url)
    except ValueError:  # unbalanced [ ], or something in [ ] that is no IPv6 address
        raise EndpointError(f"'{shown}': the host in [ ] is not an IPv6 address") from None
    if parts.scheme not in ("ws", "wss") or not parts.netloc:
        raise EndpointError(f"'{shown}' is not {what}")
    try:
        port = parts.port
    except ValueError:  # out of range, or not a number
        port = 0
    if port == 0:
        raise EndpointError(f"'{shown}': the port must be a number from 1 to 65535")
    if not parts.hostname or any(c.isspace() for c in parts.hostname):
        raise EndpointError(f"'{shown}' names no valid host")
    if parts.fragment:
        raise EndpointError(f"'{shown}': a websocket URL cannot have a #fragment")
    if parts.username is not None and parts.password is None:
        raise EndpointError(f"'{shown}': a user name in the URL needs a password (user:password@host)")
    return parts


def without_userinfo(url: str) -> str:
    """The URL to show in a message: never the user:password@ part."""
    scheme, separator, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    return scheme + separator + authority.rpartition("@")[2] + slash + path


def check_websocket_url(url: str, *, azure: bool = False) -> None:
    """Raise EndpointError for a ``--url`` or (``azure``) ``--azure-endpoint`` that cannot work."""
    if azure:
        parse_ws_url(_ws_scheme(url.strip().rstrip("/")), AZURE_RESOURCE_URL, given=url.strip())
    else:
        parse_ws_url(_ws_scheme(url.strip()), given=url.strip())


def is_loopback_host(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1: traffic that never leaves this machine."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _require_encryption(parts: SplitResult, headers: dict[str, str], allow_insecure: bool) -> None:
    """A credential travels only over TLS, or unencrypted to this machine, unless the person said otherwise."""
    credentials = {name for name in headers if name.lower() != "openai-beta"} or parts.password
    if not credentials or parts.scheme == "wss" or allow_insecure or is_loopback_host(parts.hostname or ""):
        return
    raise EndpointError(
        f"the connection to {parts.hostname} would not be encrypted (ws:// or http://) and would carry your key "
        "in the clear: use wss:// or https://, or pass --allow-insecure if this network is trusted"
    )


def is_beta_url(url: str) -> bool:
    """Azure preview deployments are addressed with ``api-version=``: they speak the beta protocol."""
    return "api-version" in dict(parse_qsl(urlsplit(url).query))


def openai_endpoint(
    model: str,
    api_key: str,
    protocol: ProtocolVersion = "ga",
    base_url: str | None = None,
    *,
    allow_insecure: bool = False,
) -> Endpoint:
    base = _ws_scheme(base_url or OPENAI_REALTIME_URL)
    parts = parse_ws_url(base, given=base_url)
    url = _with_query(base, model=model)
    headers = {"Authorization": f"Bearer {api_key}"}
    if protocol == "beta":
        headers["OpenAI-Beta"] = "realtime=v1"
    _require_encryption(parts, headers, allow_insecure)
    return Endpoint("openai", url, protocol, headers)


def azure_endpoint(
    resource_url: str,
    deployment: str,
    *,
    api_key: str | None = None,
    bearer_token: str | None = None,
    protocol: ProtocolVersion | None = None,
    allow_insecure: bool = False,
) -> Endpoint:
    """``https://RESOURCE.openai.azure.com`` -> ``wss://RESOURCE.openai.azure.com/openai/v1/realtime?model=DEPLOYMENT``.

    A URL that already names a path is kept as given; ``api-version=`` in it (the preview API) means beta.
    """
    if not deployment.strip():
        raise EndpointError("an Azure endpoint needs the deployment name (--deployment)")
    base = _ws_scheme(resource_url.strip().rstrip("/"))
    parts = parse_ws_url(base, AZURE_RESOURCE_URL, given=resource_url.strip())
    if parts.path in ("", "/"):
        if protocol == "beta":
            url = _with_query(
                f"{parts.scheme}://{parts.netloc}/openai/realtime",
                **{"api-version": AZURE_PREVIEW_API_VERSION, "deployment": deployment},
            )
        else:
            url = _with_query(f"{parts.scheme}://{parts.netloc}/openai/v1/realtime", model=deployment)
    elif is_beta_url(base):
        url = _with_query(base, deployment=deployment)
    else:
        url = _with_query(base, model=deployment)
    resolved: ProtocolVersion = protocol or ("beta" if is_beta_url(url) else "ga")
    if bearer_token:
        headers = {"Authorization": f"Bearer {bearer_token}"}
    elif api_key:
        headers = {"api-key": api_key}
    else:
        headers = {}
    _require_encryption(parts, headers, allow_insecure)
    return Endpoint("azure", url, resolved, headers)


def custom_endpoint(
    url: str,
    api_key: str | None = None,
    protocol: ProtocolVersion | None = None,
    *,
    kind: EndpointKind = "custom",
    allow_insecure: bool = False,
) -> Endpoint:
    given = url.strip()
    url = _ws_scheme(given)
    parts = parse_ws_url(url, given=given)
    resolved: ProtocolVersion = protocol or ("beta" if is_beta_url(url) else "ga")
    headers: dict[str, str] = {}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    if resolved == "beta" and not is_beta_url(url):
        headers["OpenAI-Beta"] = "realtime=v1"
    _require_encryption(parts, headers, allow_insecure)
    return Endpoint(kind, url, resolved, headers)
