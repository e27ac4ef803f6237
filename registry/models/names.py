"""Validators for the names that appear in references (``name@version/split:part``)."""

from django.core.validators import RegexValidator

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"
VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$"

validate_name = RegexValidator(
    NAME_PATTERN,
    "Names start with a letter or digit and use only letters, digits, '.', '_' and '-' "
    "(no '@', '/', ':' or spaces: they separate the parts of a reference).",
    code="invalid_name",
)
validate_version = RegexValidator(
    VERSION_PATTERN,
    "Versions start with a letter or digit and use only letters, digits, '.', '_', '+' and '-'.",
    code="invalid_version",
)
