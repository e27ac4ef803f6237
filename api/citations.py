"""The API's citations and Croissant metadata: built in ``registry.citations`` (the CLI's ``cite`` uses
them too; arrows point down), re-exported here for the views."""

from registry.citations import (  # noqa: F401
    MEDIA,
    _semver,
    _yaml,
    croissant,
    download_name,
    evaluation_citation,
    records_sha256,
    records_stream,
    version_citation,
)
