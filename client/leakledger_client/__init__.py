"""leakledger_client: LeakLedger from a training script or a CI pipeline, without Django.

>>> from leakledger_client import Client                      # doctest: +SKIP
>>> ll = Client()   # LEAKLEDGER_URL / LEAKLEDGER_TOKEN, or ~/.config/leakledger/config.toml
>>> train = ll.register_dataset("train.fasta", name="my-train", kind="protein")   # doctest: +SKIP
>>> ll.check("test.fasta", against=[train.ref]).fraction(0.9)                     # doctest: +SKIP

The same verbs on the command line: ``leakledger --help``. Local work (checking a file against
local files, ``Client.check(..., against="train.fasta")``) uses the ``dedup`` library and sends
nothing.
"""

__version__ = "0.1.0"

from .client import Client, check_local
from .errors import (
    ApiError,
    AuthenticationError,
    ConfigError,
    Conflict,
    ConnectionFailed,
    InputRejected,
    JobFailed,
    JobTimeout,
    LeakLedgerError,
    NotFound,
    NotReady,
    PayloadTooLarge,
    PermissionDenied,
    ServerError,
    Throttled,
)
from .models import (
    ContaminationReport,
    DatasetVersion,
    Evaluation,
    Job,
    ModelVersion,
    OverlapResult,
    Pair,
    Record,
    Split,
    SplitPart,
    Threshold,
)

__all__ = [
    "ApiError",
    "AuthenticationError",
    "Client",
    "ConfigError",
    "Conflict",
    "ConnectionFailed",
    "ContaminationReport",
    "DatasetVersion",
    "Evaluation",
    "InputRejected",
    "Job",
    "JobFailed",
    "JobTimeout",
    "LeakLedgerError",
    "ModelVersion",
    "NotFound",
    "NotReady",
    "OverlapResult",
    "Pair",
    "PayloadTooLarge",
    "PermissionDenied",
    "Record",
    "ServerError",
    "Split",
    "SplitPart",
    "Threshold",
    "Throttled",
    "__version__",
    "check_local",
]
