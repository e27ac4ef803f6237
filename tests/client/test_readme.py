"""The README's "Python client and CI gate": its example prints what the README shows, and its CI step fails.

Both run as a user runs them: in a directory outside the repository holding the fixture files,
with LEAKLEDGER_URL and LEAKLEDGER_TOKEN set, against a live server. (``dist-src/check_install.sh``
runs the same in fresh virtualenvs with the built wheels, against the demo server.)
"""

import shlex
import shutil
import subprocess
import sys

import yaml

from tests.conftest import FIXTURES, REPO


def readme_section() -> str:
    text = (REPO / "README.md").read_text()
    start = text.index("## Python client and CI gate")
    end = text.index("\n## ", start + 3)
    return text[start:end]


def blocks(section: str, language: str) -> list[str]:
    """The fenced code blocks of ``language`` ("" for plain fences), in order."""
    found, current, lang = [], None, ""
    for line in section.splitlines(keepends=True):
        if line.startswith("```"):
            if current is None:
                current, lang = [], line[3:].strip()
            else:
                if lang == language:
                    found.append("".join(current))
                current = None
        elif current is not None:
            current.append(line)
    return found


def test_the_example_prints_what_the_readme_shows_and_the_ci_step_fails(ledger, tmp_path):
    section = readme_section()
    example = blocks(section, "python")[0]
    shown = blocks(section, "")[0]
    (tmp_path / "fixtures").mkdir()
    shutil.copytree(FIXTURES / "flip_bind_split", tmp_path / "fixtures" / "flip_bind_split")
    (tmp_path / "train_script.py").write_text(example)
    run = subprocess.run(
        [sys.executable, "train_script.py"], cwd=tmp_path, env=ledger.env(), capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout == shown

    step = next(
        s["run"]
        for s in yaml.safe_load(blocks(section, "yaml")[0])["overlap-gate"]["steps"]
        if "leakledger check" in s.get("run", "")
    )
    (tmp_path / "data").mkdir()
    shutil.copy(FIXTURES / "flip_bind_split" / "test.fasta", tmp_path / "data" / "benchmark.fasta")
    argv = shlex.split(step)
    assert argv[0] == "leakledger"
    gate = subprocess.run(
        [sys.executable, "-m", "leakledger_client", *argv[1:]],
        cwd=tmp_path,
        env=ledger.env(),
        capture_output=True,
        text=True,
    )
    assert gate.returncode == 3, gate.stderr
    assert (
        "FAILED: 13 of 250 benchmark records (5.20%) have a match at >=90% identity, more than 1.00%"
        in gate.stderr
    )
    offenders = [
        line for line in gate.stderr.splitlines() if line.startswith("  ") and " -> my-train@1 " in line
    ]
    assert len(offenders) == 13
    pairs = (tmp_path / "overlap.tsv").read_text().splitlines()
    assert pairs[0].startswith("query\treference_set") and len(pairs) == 1 + 13
