"""Where the client finds the server and the token.

In order, the first that gives a value wins, separately for the URL and the token:

1. the arguments (``Client(url=..., token=...)``, ``leakledger --url ... --token ...``);
2. the environment: ``LEAKLEDGER_URL`` and ``LEAKLEDGER_TOKEN``;
3. the config file: ``$LEAKLEDGER_CONFIG``, else ``$XDG_CONFIG_HOME/leakledger/config.toml``,
   else ``~/.config/leakledger/config.toml``, holding ``url = "..."`` and ``token = "..."``
   (``leakledger login`` writes it, readable by you only);
4. the URL defaults to ``http://127.0.0.1:8000`` (``manage.py runserver``); there is no default token
   (reads work without one, writes need it).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError

DEFAULT_URL = "http://127.0.0.1:8000"
URL_VARIABLE = "LEAKLEDGER_URL"
TOKEN_VARIABLE = "LEAKLEDGER_TOKEN"
CONFIG_VARIABLE = "LEAKLEDGER_CONFIG"


def config_path() -> Path:
    """The config file to read (it need not exist)."""
    if os.environ.get(CONFIG_VARIABLE):
        return Path(os.environ[CONFIG_VARIABLE]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "leakledger" / "config.toml"


def read_config_file(path: Path) -> dict[str, str]:
    """``url`` and ``token`` from the TOML file at ``path``; ``{}`` when it does not exist."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the LeakLedger config file: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f'{path}: not valid TOML ({exc}). Expected lines like url = "https://ledger.example.org" '
            'and token = "...".'
        ) from None
    unknown = sorted(set(data) - {"url", "token"})
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(unknown)}; the file holds url and token.")
    for key in ("url", "token"):
        if key in data and not isinstance(data[key], str):
            raise ConfigError(f"{path}: {key} must be a string.")
    return {k: data[k] for k in ("url", "token") if k in data}


def api_root(url: str) -> str:
    """The API's root URL, ending in ``/api/v1/``, from a server URL or an API URL.

    >>> api_root("http://127.0.0.1:8000"), api_root("https://x.org/ledger/api/v1")
    ('http://127.0.0.1:8000/api/v1/', 'https://x.org/ledger/api/v1/')
    """
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{url!r} is not an http(s) URL; give the server's address, e.g. {DEFAULT_URL}.")
    url = url.rstrip("/")
    if not url.endswith("/api/v1"):
        url += "/api/v1"
    return url + "/"


@dataclass(frozen=True)
class Settings:
    """The resolved connection settings, and where each came from (for error messages)."""

    url: str
    token: str | None
    url_from: str
    token_from: str | None

    def describe(self) -> str:
        token = f"a token from {self.token_from}" if self.token else "no token (reads only)"
        return f"{self.url} (from {self.url_from}), {token}"


def resolve(url: str | None = None, token: str | None = None) -> Settings:
    """Arguments, then environment, then config file, then defaults (see the module's docstring)."""
    path = config_path()
    file_values: dict[str, str] | None = None

    def from_file() -> dict[str, str]:
        nonlocal file_values
        if file_values is None:
            file_values = read_config_file(path)
        return file_values

    if url:
        url_value, url_from = url, "the url argument"
    elif os.environ.get(URL_VARIABLE):
        url_value, url_from = os.environ[URL_VARIABLE], URL_VARIABLE
    elif from_file().get("url"):
        url_value, url_from = from_file()["url"], str(path)
    else:
        url_value, url_from = DEFAULT_URL, "the default"
    token_value: str | None
    if token:
        token_value, token_from = token, "the token argument"
    elif os.environ.get(TOKEN_VARIABLE):
        token_value, token_from = os.environ[TOKEN_VARIABLE], TOKEN_VARIABLE
    elif from_file().get("token"):
        token_value, token_from = from_file()["token"], str(path)
    else:
        token_value, token_from = None, None
    return Settings(url=api_root(url_value), token=token_value, url_from=url_from, token_from=token_from)


def write_config_file(*, url: str, token: str | None, path: Path | None = None) -> Path:
    """Write ``url`` and ``token`` to the config file, readable by its owner only."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"url = {_toml_string(url)}"]
    if token:
        lines.append(f"token = {_toml_string(token)}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    os.chmod(path, 0o600)
    return path


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
