"""Endpoints: where to connect, which protocol, which auth header; never the key in a repr or a log line."""

from __future__ import annotations

import re

import pytest

from voicedesk.realtime.endpoint import (
    AZURE_PREVIEW_API_VERSION,
    Endpoint,
    EndpointError,
    azure_endpoint,
    check_websocket_url,
    custom_endpoint,
    is_beta_url,
    is_loopback_host,
    openai_endpoint,
)

KEY = "sk-test-SECRET-0123456789"


def _no_secret(endpoint: Endpoint, secret: str = KEY) -> None:
    assert secret not in repr(endpoint)
    assert secret not in str(endpoint)
    assert secret not in endpoint.describe()
    assert "SECRET" not in endpoint.describe()


# --------------------------------------------------------------------------- OpenAI


def test_openai_ga() -> None:
    endpoint = openai_endpoint("gpt-realtime", KEY)
    assert endpoint == Endpoint(
        "openai", "wss://api.openai.com/v1/realtime?model=gpt-realtime", "ga", {"Authorization": f"Bearer {KEY}"}
    )
    assert endpoint.describe() == "openai endpoint wss://api.openai.com/v1/realtime (ga)"
    _no_secret(endpoint)


def test_openai_beta_adds_the_beta_header() -> None:
    endpoint = openai_endpoint("gpt-4o-realtime-preview", KEY, protocol="beta")
    assert endpoint.url == "wss://api.openai.com/v1/realtime?model=gpt-4o-realtime-preview"
    assert endpoint.protocol == "beta"
    assert endpoint.headers == {"Authorization": f"Bearer {KEY}", "OpenAI-Beta": "realtime=v1"}
    _no_secret(endpoint)


def test_openai_with_a_base_url() -> None:
    endpoint = openai_endpoint("m", KEY, base_url="https://proxy.example.com/v1/realtime")
    assert endpoint.url == "wss://proxy.example.com/v1/realtime?model=m"
    assert endpoint.kind == "openai"


def test_openai_model_is_url_encoded() -> None:
    assert openai_endpoint("my model/1", KEY).url == "wss://api.openai.com/v1/realtime?model=my+model%2F1"


def test_openai_bad_base_url() -> None:
    with pytest.raises(EndpointError, match="is not a websocket URL"):
        openai_endpoint("m", KEY, base_url="ftp://example.com/realtime")


# --------------------------------------------------------------------------- Azure


def test_azure_ga_from_the_resource_url() -> None:
    endpoint = azure_endpoint("https://myres.openai.azure.com", "my-deployment", api_key=KEY)
    assert endpoint == Endpoint(
        "azure",
        "wss://myres.openai.azure.com/openai/v1/realtime?model=my-deployment",
        "ga",
        {"api-key": KEY},
    )
    assert endpoint.describe() == "azure endpoint wss://myres.openai.azure.com/openai/v1/realtime (ga)"
    _no_secret(endpoint)


@pytest.mark.parametrize(
    "resource",
    ["https://myres.openai.azure.com/", "  https://myres.openai.azure.com  ", "wss://myres.openai.azure.com"],
)
def test_azure_resource_url_variants(resource: str) -> None:
    endpoint = azure_endpoint(resource, "dep", api_key=KEY)
    assert endpoint.url == "wss://myres.openai.azure.com/openai/v1/realtime?model=dep"


def test_azure_bearer_token() -> None:
    endpoint = azure_endpoint("https://myres.openai.azure.com", "dep", bearer_token="eyJ-TOKEN-SECRET")
    assert endpoint.headers == {"Authorization": "Bearer eyJ-TOKEN-SECRET"}
    _no_secret(endpoint, "eyJ-TOKEN-SECRET")


def test_azure_bearer_token_wins_over_the_key() -> None:
    endpoint = azure_endpoint("https://r.openai.azure.com", "dep", api_key=KEY, bearer_token="tok")
    assert endpoint.headers == {"Authorization": "Bearer tok"}


def test_azure_without_credentials_has_no_auth_header() -> None:
    assert azure_endpoint("https://r.openai.azure.com", "dep").headers == {}


def test_azure_http_becomes_ws() -> None:
    endpoint = azure_endpoint("http://localhost:8080", "dep", api_key=KEY)
    assert endpoint.url == "ws://localhost:8080/openai/v1/realtime?model=dep"


def test_azure_preview_url_with_api_version_is_beta() -> None:
    url = "https://myres.openai.azure.com/openai/realtime?api-version=2024-10-01-preview"
    endpoint = azure_endpoint(url, "gpt-4o-realtime", api_key=KEY)
    assert endpoint.protocol == "beta"
    assert endpoint.url == (
        "wss://myres.openai.azure.com/openai/realtime?api-version=2024-10-01-preview&deployment=gpt-4o-realtime"
    )
    assert endpoint.headers == {"api-key": KEY}
    assert "OpenAI-Beta" not in endpoint.headers


def test_azure_beta_requested_for_a_bare_resource_builds_the_preview_url() -> None:
    endpoint = azure_endpoint("https://myres.openai.azure.com", "dep", api_key=KEY, protocol="beta")
    assert endpoint.protocol == "beta"
    assert endpoint.url == (
        f"wss://myres.openai.azure.com/openai/realtime?api-version={AZURE_PREVIEW_API_VERSION}&deployment=dep"
    )


def test_azure_url_with_a_ga_path_is_kept() -> None:
    endpoint = azure_endpoint("https://myres.openai.azure.com/openai/v1/realtime", "dep", api_key=KEY)
    assert endpoint.url == "wss://myres.openai.azure.com/openai/v1/realtime?model=dep"
    assert endpoint.protocol == "ga"


@pytest.mark.parametrize("deployment", ["", "   "])
def test_azure_needs_a_deployment(deployment: str) -> None:
    with pytest.raises(EndpointError, match="needs the deployment name"):
        azure_endpoint("https://r.openai.azure.com", deployment, api_key=KEY)


@pytest.mark.parametrize("resource", ["myres.openai.azure.com", "ftp://myres.openai.azure.com", "https://", ""])
def test_azure_bad_resource_url(resource: str) -> None:
    with pytest.raises(EndpointError, match="is not an Azure resource URL"):
        azure_endpoint(resource, "dep", api_key=KEY)


# --------------------------------------------------------------------------- custom


def test_custom_url() -> None:
    endpoint = custom_endpoint("ws://127.0.0.1:8765/v1/realtime")
    assert endpoint == Endpoint("custom", "ws://127.0.0.1:8765/v1/realtime", "ga", {})
    assert endpoint.describe() == "custom endpoint ws://127.0.0.1:8765/v1/realtime (ga)"


def test_custom_with_a_key_uses_bearer() -> None:
    endpoint = custom_endpoint("wss://llm.example.com/realtime?model=x", KEY)
    assert endpoint.headers == {"Authorization": f"Bearer {KEY}"}
    assert endpoint.url == "wss://llm.example.com/realtime?model=x"
    _no_secret(endpoint)


def test_custom_https_and_http_become_wss_and_ws() -> None:
    assert custom_endpoint("https://llm.example.com/realtime").url == "wss://llm.example.com/realtime"
    assert custom_endpoint("http://localhost:9000/realtime").url == "ws://localhost:9000/realtime"
    assert custom_endpoint("  ws://localhost:9000/x  ").url == "ws://localhost:9000/x"


def test_custom_beta_adds_the_beta_header() -> None:
    endpoint = custom_endpoint("ws://localhost:9000/v1/realtime", protocol="beta")
    assert endpoint.protocol == "beta"
    assert endpoint.headers == {"OpenAI-Beta": "realtime=v1"}


def test_custom_url_with_api_version_is_beta_without_the_openai_header() -> None:
    endpoint = custom_endpoint("wss://x.example.com/openai/realtime?api-version=2025-04-01-preview&deployment=d")
    assert endpoint.protocol == "beta"
    assert endpoint.headers == {}


def test_custom_kind_local() -> None:
    assert custom_endpoint("ws://127.0.0.1:1/x", kind="local").kind == "local"


@pytest.mark.parametrize(
    "url", ["", "localhost:9000", "ftp://host/x", "wss://", "file:///tmp/sock", "api.openai.com/v1/realtime"]
)
def test_custom_bad_urls(url: str) -> None:
    with pytest.raises(EndpointError, match="is not a websocket URL"):
        custom_endpoint(url)


def test_endpoint_error_is_a_value_error() -> None:
    assert issubclass(EndpointError, ValueError)


# --------------------------------------------------------------------------- secrets and helpers


def test_describe_leaves_out_credentials_in_the_url() -> None:
    endpoint = custom_endpoint("wss://user:p4ss-SECRET@llm.example.com/realtime?key=SECRET")
    assert endpoint.describe() == "custom endpoint wss://llm.example.com/realtime (ga)"


def test_repr_never_shows_headers() -> None:
    endpoint = azure_endpoint("https://r.openai.azure.com", "dep", api_key=KEY)
    assert "headers" not in repr(endpoint)
    assert "api-key" not in repr(endpoint)


@pytest.mark.parametrize(
    ("url", "beta"),
    [
        ("wss://r.openai.azure.com/openai/realtime?api-version=2024-10-01-preview&deployment=d", True),
        ("wss://r.openai.azure.com/openai/v1/realtime?model=d", False),
        ("wss://api.openai.com/v1/realtime?model=gpt-realtime", False),
        ("wss://x/realtime?api-version=", False),
    ],
)
def test_is_beta_url(url: str, beta: bool) -> None:
    assert is_beta_url(url) is beta


# --------------------------------------------------------------------------- URLs that cannot work


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ws://127.0.0.1:99999/v1/realtime", "the port must be a number from 1 to 65535"),
        ("ws://127.0.0.1:0/v1/realtime", "the port must be a number from 1 to 65535"),
        ("ws://127.0.0.1:-1/v1/realtime", "the port must be a number from 1 to 65535"),
        ("wss://host.example:abc/x", "the port must be a number from 1 to 65535"),
        ("ws://[::1", "the host in [ ] is not an IPv6 address"),
        ("ws://[::1/x", "the host in [ ] is not an IPv6 address"),
        ("ws://[not-ipv6]:80/x", "the host in [ ] is not an IPv6 address"),
        ("ws://:8765/v1/realtime", "names no valid host"),
        ("ws://user:pw@/x", "names no valid host"),
        ("ws://two words/x", "names no valid host"),
        ("ws://localhost:8765/x#part", "cannot have a #fragment"),
        ("ws://user@localhost:8765/x", "a user name in the URL needs a password"),
        ("http://127.0.0.1:70000/x", "the port must be a number from 1 to 65535"),
    ],
)
def test_a_url_that_cannot_work_is_named_with_the_reason(url: str, says: str) -> None:
    for check in (custom_endpoint, check_websocket_url):
        with pytest.raises(EndpointError, match=re.escape(says)) as raised:
            check(url)
        assert re.sub("//.*@", "//", url) in str(raised.value), "the URL as given, less any user:password@"
        assert "\n" not in str(raised.value)


def test_a_password_in_a_bad_url_is_not_repeated() -> None:
    with pytest.raises(EndpointError) as raised:
        custom_endpoint("wss://me:p4ss-SECRET@llm.example.com:99999/x")
    assert "SECRET" not in str(raised.value)
    assert "'wss://llm.example.com:99999/x'" in str(raised.value)


@pytest.mark.parametrize(
    "url", ["ws://[::1]:8765/v1/realtime", "ws://localhost:8765/", "ws://h:/x", "wss://u:p@h.example/x", "wss://h:1/"]
)
def test_good_urls_pass_the_check(url: str) -> None:
    check_websocket_url(url)
    custom_endpoint(url)


@pytest.mark.parametrize("resource", ["https://myres.openai.azure.com:99999", "https://[::1", "https://:443"])
def test_a_bad_azure_resource_url_is_an_endpoint_error(resource: str) -> None:
    with pytest.raises(EndpointError, match=re.escape(resource)):
        check_websocket_url(resource, azure=True)
    with pytest.raises(EndpointError, match=re.escape(resource)):
        azure_endpoint(resource, "dep", api_key=KEY)


def test_an_openai_base_url_with_a_bad_port_is_an_endpoint_error() -> None:
    with pytest.raises(EndpointError, match="port"):
        openai_endpoint("m", KEY, base_url="wss://proxy.example.com:123456/v1/realtime")


# --------------------------------------------------------------------------- keys only over TLS or to this machine


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("localhost.", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("192.0.2.1", False),
        ("::", False),
        ("localhost.example.com", False),
        ("example.com", False),
        ("", False),
    ],
)
def test_is_loopback_host(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


INSECURE_WITH_A_KEY = {
    "custom": lambda allow: custom_endpoint("ws://192.0.2.1:8765/v1/realtime", KEY, allow_insecure=allow),
    "custom http": lambda allow: custom_endpoint("http://llm.example.com/v1/realtime", KEY, allow_insecure=allow),
    "openai base url": lambda allow: openai_endpoint(
        "m", KEY, base_url="http://proxy.example.com/v1/realtime", allow_insecure=allow
    ),
    "azure api-key": lambda allow: azure_endpoint("http://r.example.com", "d", api_key=KEY, allow_insecure=allow),
    "azure bearer": lambda allow: azure_endpoint("http://10.1.2.3:80", "d", bearer_token=KEY, allow_insecure=allow),
    "password in the URL": lambda allow: custom_endpoint("ws://me:pw@192.0.2.1/x", allow_insecure=allow),
}


@pytest.mark.parametrize("case", sorted(INSECURE_WITH_A_KEY))
def test_a_key_over_plain_ws_to_another_host_needs_allow_insecure(case: str) -> None:
    with pytest.raises(EndpointError, match="--allow-insecure") as refused:
        INSECURE_WITH_A_KEY[case](False)
    assert KEY not in str(refused.value) and "pw" not in str(refused.value)
    assert INSECURE_WITH_A_KEY[case](True).url.startswith("ws://")


@pytest.mark.parametrize(
    "url", ["ws://127.0.0.1:8765/v1/realtime", "ws://localhost:8765/x", "ws://[::1]:8765/x", "http://127.1.2.3/x"]
)
def test_a_key_over_plain_ws_to_this_machine_is_fine(url: str) -> None:
    assert custom_endpoint(url, KEY).headers == {"Authorization": f"Bearer {KEY}"}
    assert azure_endpoint(url.rpartition("/")[0] or url, "d", api_key=KEY).headers == {"api-key": KEY}


def test_plain_ws_without_a_key_to_another_host_is_allowed() -> None:
    """Nothing secret to leak: a self-hosted server on the LAN with no key stays easy to use."""
    assert custom_endpoint("ws://192.0.2.1:8765/v1/realtime").headers == {}
    assert custom_endpoint("ws://192.0.2.1:8765/v1/realtime", protocol="beta").headers == {"OpenAI-Beta": "realtime=v1"}
    assert azure_endpoint("http://r.example.com", "d").url.startswith("ws://")


def test_wss_to_any_host_carries_the_key() -> None:
    assert custom_endpoint("wss://192.0.2.1/x", KEY).headers == {"Authorization": f"Bearer {KEY}"}
