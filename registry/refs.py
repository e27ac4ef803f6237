"""Parsing of public references: ``name@version`` and ``name@version/split:part``."""

import re
from dataclasses import dataclass

from .errors import RegistryError

_REF = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)@(?P<version>[A-Za-z0-9][A-Za-z0-9._+-]*)"
    r"(?:/(?P<split>[A-Za-z0-9][A-Za-z0-9._-]*):(?P<part>[A-Za-z0-9][A-Za-z0-9._-]*))?$"
)


@dataclass(frozen=True)
class Ref:
    name: str
    version: str
    split: str | None = None
    part: str | None = None

    def __str__(self) -> str:
        base = f"{self.name}@{self.version}"
        return f"{base}/{self.split}:{self.part}" if self.split else base


def parse_ref(text: str, *, allow_part: bool = True) -> Ref:
    """Parse ``name@version`` or, when ``allow_part``, ``name@version/split:part``.

    >>> parse_ref("flip-bind@1/one_vs_many:test")
    Ref(name='flip-bind', version='1', split='one_vs_many', part='test')
    """
    match = _REF.match(text.strip())
    if not match or (match["split"] and not allow_part):
        expected = "name@version or name@version/split:part" if allow_part else "name@version"
        raise RegistryError(f"{text!r} is not a reference: expected {expected}.", code="invalid_reference")
    return Ref(match["name"], match["version"], match["split"], match["part"])
