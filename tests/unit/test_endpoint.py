"""Endpoints: where to connect, which protocol, which auth header; never the key in a repr or a log line."""

from __future__ import annotations

import pytest

from voicedesk.realtime.endpoint import (
    AZURE_PREVIEW_API_VERSION,
    Endpoint,
    EndpointError,
    azure_endpoint,
    custom_endpoint,
    is_beta_url,
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
