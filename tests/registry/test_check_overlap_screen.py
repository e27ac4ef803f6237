"""check_overlap --screen: the whole-set answer first, then the per-record report."""

import io
import json

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*[str(a) for a in args], stdout=out)
    return out.getvalue()


@pytest.fixture
def registered(data_dir, bind_all, bind_mapping):
    run("register_dataset", bind_all, "--name", "flip-bind", "--kind", "protein")
    run("register_split", "flip-bind@1", "--name", "ovm", "--mapping", bind_mapping, "--allow-shared-ids")


def test_screen_comes_first_then_the_records(registered, bind_test):
    out = run("check_overlap", bind_test, "--screen", "--screen-scaled", "1")
    screen_at, records_at = out.index("whole-set screen"), out.index("records against")
    assert screen_at < records_at
    assert "flip-bind@1/ovm:train" in out[screen_at:records_at]
    both = json.loads(run("check_overlap", bind_test, "--screen", "--json"))
    assert both["screen"]["screen"][0]["train"] == "flip-bind@1/ovm:train"
    assert both["summary"]["query_records"] == 250  # the per-record report is still there
    # 13 of the 250 test records are in train: their k-mers are contained, and the rest barely
    assert 0.03 < both["screen"]["screen"][0]["containment"] < 0.2


def test_screen_only(registered, bind_test):
    only = json.loads(run("check_overlap", bind_test, "--screen-only", "--json"))
    assert set(only) == {"screen"}
    assert only["screen"]["method"]["k"] == 10
    text = run("check_overlap", bind_test, "--screen-only")
    assert "whole-set screen" in text and "records against" not in text
