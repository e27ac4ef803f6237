"""What happens after a record set appears or an evaluation is recorded.

Called inside the registering transaction; background work is enqueued with
``transaction.on_commit`` so that a rolled-back registration enqueues nothing. The overlap
service fills these in (sketching, indexing, standing checks, contamination reports).
"""

from ..models import Evaluation, RecordSet


def record_set_created(record_set: RecordSet) -> None:
    """A record set appeared or took a new role (training or test): enqueue its background work."""


def evaluation_created(evaluation: Evaluation) -> None:
    """An evaluation was recorded: enqueue its contamination report."""
