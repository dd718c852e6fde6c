"""docs/ci.md: the recipe's commands run as written and fail a regression; the workflows carry the same lines."""

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tinyemo_audit.model.bundle import list_bundles

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")


def recipe() -> list[str]:
    block = re.search(r"<!-- ci-commands -->\n```bash\n(.*?)```", DOC, flags=re.S)
    assert block, "docs/ci.md lost its ci-commands block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_workflows_run_the_same_commands():
    workflows = re.findall(r"```yaml\n(.*?)```", DOC, flags=re.S)
    assert len(workflows) == 2  # GitHub Actions and GitLab CI
    for workflow in workflows:
        lines = {line.strip() for line in workflow.splitlines()}
        assert all(command.strip() in lines for command in recipe()), workflow[:60]


@pytest.mark.skipif(not {"tinyemo-faces-mini", "faces-mini-clean"} <= set(list_bundles()),
                    reason="bundles not trained")
def test_the_recipe_fails_a_regression_and_leaves_its_artifacts(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "tinyemo-audit"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m tinyemo_audit.cli.main "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    (tmp_path / "small.yaml").write_text("n_boot: 200\nn_perm: 200\nn_perm_paired: 2000\n")
    system_temp = tmp_path / "system-temp"  # what the commands leave in the temp folder: nothing
    system_temp.mkdir()
    env = {**os.environ, "TMPDIR": str(system_temp), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "DATASET": "faces",
           "MODEL": "tinyemo-faces-mini", "BASE_MODEL": "faces-mini-clean",  # the biased model after the clean one
           "AUDIT_ARGS": "--n 600 --config small.yaml", "GITHUB_STEP_SUMMARY": str(tmp_path / "step-summary.md"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(["bash", "-c", "\n".join(recipe())], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 1, done.stderr[-2000:]
    reports = tmp_path / "reports"
    for artifact in ("pr/report.html", "pr/results.json", "compare/comparison.html", "compare/comparison.json",
                     "junit-regression.xml", "junit-gates.xml"):
        assert (reports / artifact).is_file(), artifact
    assert "no new findings" in (reports / "junit-regression.xml").read_text()
    assert "<failure" in (reports / "junit-regression.xml").read_text()
    gone_or_new = json.loads((reports / "compare" / "comparison.json").read_text())["summary"]["findings"]
    assert gone_or_new["new"] >= 2  # the planted biases, new against the clean baseline
    assert "tinyemo-audit gates" in (tmp_path / "step-summary.md").read_text()
    # torch makes its per-user compile cache folder there (empty, shared by every torch program): not ours.
    assert [p.name for p in system_temp.iterdir() if not p.name.startswith("torchinductor_")] == []
