"""Which LLM endpoints a browser session may use, and which key goes where.

The operator configures endpoints (``generator.*`` from the config file, environment or CLI, and
``ui.endpoints``); the Settings tab offers a choice among them by name. A base URL typed in the browser is
accepted only when it matches ``ui.allowed_base_urls`` (empty by default), and it is sent only the key typed
with it. An operator's key is only ever attached to that operator endpoint's own base URL:
``check_generator`` enforces this where a session's generator is built, whatever produced the settings.

Example::

    choice = resolve_choice(settings, endpoint="local llama", model="qwen2.5", custom_url="", api_key="")
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import SecretStr

from qa import ConfigError, Settings
from qa.config import GeneratorSettings

EXTRACTIVE = "extractive (offline)"
CUSTOM = "other endpoint (base URL)"
DEFAULT_NAME = "configured endpoint"


@dataclass(frozen=True)
class Endpoint:
    """An endpoint the operator configured: its name in the UI, URL, models and key (the operator's)."""

    name: str
    base_url: str
    models: tuple[str, ...]
    api_key: SecretStr | None


def operator_endpoints(settings: Settings) -> list[Endpoint]:
    """The generator's own endpoint (when it has a base URL and a model) and every ``ui.endpoints`` entry."""
    out: list[Endpoint] = []
    g = settings.generator
    if g.base_url and g.model:
        models = tuple(dict.fromkeys([g.model, *settings.ui.models]))
        out.append(Endpoint(DEFAULT_NAME, g.base_url, models, g.api_key))
    out += [Endpoint(e.name, e.base_url, tuple(e.models), e.api_key) for e in settings.ui.endpoints]
    return out


def endpoint_names(settings: Settings) -> list[str]:
    """The Settings tab's choices: extractive, the operator's endpoints, and a typed URL when allowed."""
    names = [EXTRACTIVE, *(e.name for e in operator_endpoints(settings))]
    return names + [CUSTOM] if settings.ui.allowed_base_urls else names


def models_for(settings: Settings, name: str) -> list[str]:
    """The models offered for endpoint ``name`` (none for extractive or a typed URL)."""
    for e in operator_endpoints(settings):
        if e.name == name:
            return list(e.models)
    return []


def _parts(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path without trailing slash) of an http(s) URL; ConfigError otherwise."""
    try:
        u = urlsplit(url.strip())
        port = u.port
    except ValueError:
        raise ConfigError("the base URL is not a valid URL") from None
    if u.scheme not in ("http", "https") or not u.hostname:
        raise ConfigError("the base URL must start with http:// or https:// and name a host")
    if u.username or u.password or u.query or u.fragment:
        raise ConfigError("the base URL must not contain a user, password, query or fragment")
    default = 443 if u.scheme == "https" else 80
    return u.scheme, u.hostname.lower(), port or default, u.path.rstrip("/")


def url_allowed(url: str, allowed: list[str]) -> bool:
    """True when ``url`` has the scheme, host and port of an allowed prefix and its path starts with the prefix's.

    >>> url_allowed("http://127.0.0.1:8080/v1", ["http://127.0.0.1:8080/"])
    True
    >>> url_allowed("http://127.0.0.1:8080@169.254.169.254/v1", ["http://127.0.0.1:8080/"])
    False
    """
    try:
        scheme, host, port, path = _parts(url)
    except ConfigError:
        return False
    for prefix in allowed:
        try:
            p_scheme, p_host, p_port, p_path = _parts(prefix)
        except ConfigError:
            continue
        if (scheme, host, port) == (p_scheme, p_host, p_port) and (path == p_path or path.startswith(p_path + "/")):
            return True
    return False


def same_url(a: str | None, b: str | None) -> bool:
    """The same endpoint: equal after trimming spaces and trailing slashes."""
    return (a or "").strip().rstrip("/") == (b or "").strip().rstrip("/")


@dataclass(frozen=True)
class Choice:
    """A session's resolved choice: the endpoint's name (or CUSTOM / EXTRACTIVE) and the generator settings."""

    name: str
    generator: GeneratorSettings


def resolve_choice(
    settings: Settings,
    *,
    endpoint: str,
    model: str,
    custom_url: str,
    api_key: str,
    previous: Choice | None = None,
) -> Choice:
    """Turn the Settings tab's fields into generator settings the operator allows.

    Args:
        settings: the app's settings (the operator's endpoints and allow-list).
        endpoint: a name from ``endpoint_names``.
        model: for an operator endpoint, one of its models (empty: the first); for a typed URL, any name.
        custom_url: the typed base URL (only with ``endpoint == CUSTOM``).
        api_key: a key typed in the browser; empty keeps the operator endpoint's key, or for a typed URL the
            key typed earlier with that same URL.
        previous: the session's current choice.

    Raises:
        ConfigError: an unknown endpoint or model, a URL outside the allow-list, a missing model name.
    """
    base = settings.generator.model_dump()
    typed = api_key.strip() if api_key else ""
    if endpoint == EXTRACTIVE:
        return Choice(EXTRACTIVE, GeneratorSettings.model_validate({**base, "backend": "extractive", "api_key": None}))
    if endpoint == CUSTOM:
        if not settings.ui.allowed_base_urls:
            raise ConfigError("typing a base URL is switched off on this server; pick one of the endpoints")
        url = (custom_url or "").strip()
        if not url:
            raise ConfigError("enter the base URL of the endpoint, e.g. http://127.0.0.1:8080/v1")
        if not url_allowed(url, settings.ui.allowed_base_urls):
            raise ConfigError("that base URL is not on this server's list of allowed endpoints")
        if not (model or "").strip():
            raise ConfigError("the endpoint needs a model name")
        key: SecretStr | None = SecretStr(typed) if typed else None
        if (
            key is None
            and previous is not None
            and previous.name == CUSTOM
            and same_url(previous.generator.base_url, url)
        ):
            key = previous.generator.api_key  # typed earlier with this very URL
        gen = {**base, "backend": "openai", "base_url": url, "model": model.strip(), "api_key": key}
        return Choice(CUSTOM, GeneratorSettings.model_validate(gen))
    for e in operator_endpoints(settings):
        if e.name == endpoint:
            chosen = (model or "").strip() or e.models[0]
            if chosen not in e.models:
                raise ConfigError(f"the endpoint {e.name!r} offers the models {', '.join(e.models)}")
            key = SecretStr(typed) if typed else e.api_key
            gen = {**base, "backend": "openai", "base_url": e.base_url, "model": chosen, "api_key": key}
            return Choice(e.name, GeneratorSettings.model_validate(gen))
    raise ConfigError(f"unknown endpoint {endpoint!r}; pick one of: {', '.join(endpoint_names(settings))}")


def check_generator(settings: Settings, gen: GeneratorSettings) -> None:
    """Refuse generator settings a session may not use: the last guard before a request can be sent.

    A session may use the extractive generator, an operator endpoint, or an allowed typed URL; and an
    operator's key may only travel to that operator endpoint's base URL.

    Raises:
        ConfigError: the base URL is not the operator's nor allowed, or an operator key would go elsewhere.
    """
    if gen.resolved_backend() == "extractive":
        return
    url = gen.base_url
    ops = operator_endpoints(settings)
    if url is None:
        raise ConfigError("the OpenAI-compatible generator needs a base URL")
    own = [e for e in ops if same_url(e.base_url, url)]
    if not own and not url_allowed(url, settings.ui.allowed_base_urls):
        raise ConfigError("that base URL is not one of this server's endpoints")
    if gen.api_key is None:
        return
    secret = gen.api_key.get_secret_value()
    operator_keys = [e for e in ops if e.api_key is not None and e.api_key.get_secret_value() == secret]
    if settings.generator.api_key is not None and settings.generator.api_key.get_secret_value() == secret:
        operator_keys.append(Endpoint(DEFAULT_NAME, settings.generator.base_url or "", (), settings.generator.api_key))
    if operator_keys and not any(same_url(e.base_url, url) for e in operator_keys):
        raise ConfigError("the server's API key may only be sent to its own endpoint")


def endpoint_label(settings: Settings, gen: GeneratorSettings) -> str:
    """How the Settings tab names the endpoint in use: its operator name, or the typed URL (the user's own)."""
    for e in operator_endpoints(settings):
        if same_url(e.base_url, gen.base_url):
            return e.name
    return gen.base_url or "(none)"
