"""Where the API meets the overlap service (``registry.overlap``), which lands separately.

Until it exists these functions answer "not available", so the rest of the API works without it.
"""


def overlap_available() -> bool:
    try:
        import registry.overlap  # noqa: F401
    except ImportError:
        return False
    return True


def contamination_summary(evaluation, context) -> dict | None:
    """The evaluation's contamination summary, or ``None`` while none has been computed."""
    return None
