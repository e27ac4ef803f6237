"""The README's examples run as printed: every ```sh block marked ``<!-- README test: runs -->``, in order,
in one shell with ``set -e``, on an empty data directory (issue 12, item 6)."""

import os
import re
import subprocess

import pytest

from tests.conftest import REPO

MARKER = "<!-- README test: runs -->"


def runnable_blocks(text: str) -> list[str]:
    return re.findall(re.escape(MARKER) + r"\n```sh\n(.*?)\n```", text, flags=re.S)


def test_the_marked_blocks_are_the_command_line_examples():
    blocks = runnable_blocks((REPO / "README.md").read_text())
    assert len(blocks) >= 2 and blocks[0].startswith('P=".venv/bin/python manage.py"')


@pytest.mark.slow  # some twenty processes, as a user runs them
def test_readme_examples_run_as_printed(tmp_path):
    # A working copy whose var/ is the test's: the examples write under var/ as a user's would.
    work = tmp_path / "work"
    work.mkdir()
    for entry in REPO.iterdir():
        if entry.name not in {"var", ".git"}:
            (work / entry.name).symlink_to(entry)
    script = "set -euo pipefail\n" + "\n".join(runnable_blocks((REPO / "README.md").read_text()))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LEAKLEDGER_DATA_DIR": str(work / "var")}
    if os.environ.get("LEAKLEDGER_MMSEQS_PATH"):
        env["LEAKLEDGER_MMSEQS_PATH"] = os.environ["LEAKLEDGER_MMSEQS_PATH"]
    proc = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert (
        "registered flip-bind@1" in out
        and "cd25d81e4c6f376ecf1054c5427a26454b8173f8f9529d0dc82624b711c75fab" in out
    )
    assert "refused, as it should be" in out
    assert "contamination: exact 13 of 250 test records (5.2%)" in out
    assert "clean subset at >=80%: mcc=0.4 (237 records)" in out
    assert "is trained on flip-bind-test@1, a registered benchmark" in out
    assert "@misc{flip-bind_1" in out and "Dallago, Christian" in out
    assert "wrote 237 of 250 records" in out
    assert (work / "var" / "flip-bind-test-clean.fasta").is_file() and (work / "var" / "pairs.tsv").is_file()
    # Private, sketch-only training sets: sketched locally, registered without residues, checked.
    assert "sketched 1,077 records" in out and "not on the server: sketch-only" in out
    assert "against sketch-only training sets (private-train@1)" in out
    assert "Traceback" not in proc.stderr
