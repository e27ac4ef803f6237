"""Where the client finds the server and the token: arguments, environment, config file, defaults."""

import os
import re
import stat

import pytest
from leakledger_client import Client, ConfigError
from leakledger_client.config import api_root, config_path, resolve, write_config_file


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("LEAKLEDGER_URL", "LEAKLEDGER_TOKEN", "LEAKLEDGER_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


def test_defaults_without_anything(clean_env):
    s = resolve()
    assert s.url == "http://127.0.0.1:8000/api/v1/" and s.url_from == "the default"
    assert s.token is None and "no token" in s.describe()


def test_the_config_file_then_the_environment_then_the_arguments(clean_env, monkeypatch):
    path = clean_env / "xdg" / "leakledger" / "config.toml"
    assert config_path() == path
    path.parent.mkdir(parents=True)
    path.write_text('url = "https://ledger.example.org"\ntoken = "from-file"\n')
    s = resolve()
    assert (s.url, s.token, s.url_from) == ("https://ledger.example.org/api/v1/", "from-file", str(path))
    monkeypatch.setenv("LEAKLEDGER_TOKEN", "from-env")
    s = resolve()
    assert (s.url, s.token, s.token_from) == (
        "https://ledger.example.org/api/v1/",
        "from-env",
        "LEAKLEDGER_TOKEN",
    )
    monkeypatch.setenv("LEAKLEDGER_URL", "http://10.0.0.1:9000/api/v1/")
    assert resolve().url == "http://10.0.0.1:9000/api/v1/"
    s = resolve("http://127.0.0.1:1234", "from-arg")
    assert (s.url, s.token) == ("http://127.0.0.1:1234/api/v1/", "from-arg")
    assert Client(progress=False).transport.session.headers["Authorization"] == "Token from-env"


def test_leakledger_config_names_another_file(clean_env, monkeypatch):
    other = clean_env / "elsewhere.toml"
    other.write_text('url = "https://other.example.org"\n')
    monkeypatch.setenv("LEAKLEDGER_CONFIG", str(other))
    assert resolve().url == "https://other.example.org/api/v1/"


@pytest.mark.parametrize(
    "text, message",
    [
        ("url = https://x\n", "not valid TOML"),
        ('url = "https://x"\ntokn = "t"\n', "unknown key(s) tokn"),
        ("token = 3\n", "token must be a string"),
        ('url = "ftp://x"\n', "not an http(s) URL"),
    ],
)
def test_a_bad_config_file_is_refused_with_its_path(clean_env, monkeypatch, text, message):
    path = clean_env / "bad.toml"
    path.write_text(text)
    monkeypatch.setenv("LEAKLEDGER_CONFIG", str(path))
    with pytest.raises(ConfigError, match=re.escape(message)):
        resolve()


def test_written_config_is_readable_by_its_owner_only(clean_env):
    path = write_config_file(url="https://ledger.example.org", token='se"cret')
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert resolve().token == 'se"cret'


def test_api_root_accepts_the_server_or_the_api_address():
    assert api_root("https://x.org/") == api_root("https://x.org/api/v1") == "https://x.org/api/v1/"
