"""What happens after a record set appears or an evaluation is recorded.

Called inside the registering transaction; background work is enqueued with
``transaction.on_commit`` (through ``job_create``) so that a rolled-back registration enqueues
nothing. The overlap service does the work: a ``sketch`` job indexes the record set and then
enqueues the standing checks it now takes part in; an ``overlap`` job computes an evaluation's
contamination report against its model's training ancestry.
"""

from ..models import Evaluation, RecordSet

# Importing the overlap services registers their job handlers (sketch, overlap, query) in every
# process that imports the registry services, Celery workers included.
from ..overlap import services as overlap_services


def record_set_created(record_set: RecordSet) -> None:
    """A record set appeared or took a new role (training or test): enqueue its background work."""
    overlap_services.record_set_index_enqueue(record_set)


def evaluation_created(evaluation: Evaluation) -> None:
    """An evaluation was recorded: enqueue its contamination report."""
    overlap_services.contamination_report_enqueue(evaluation)
