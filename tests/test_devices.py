"""--device: one resolution for every command; cpu and auto here, an absent GPU is exit 2 with one line."""

from __future__ import annotations

import pytest
import torch

from tinyemo_audit.devices import MSG_NO_CUDA, MSG_UNKNOWN, current_device, resolve_device, use_device
from tinyemo_audit.errors import UsageError


def test_cpu_is_cpu_and_auto_follows_what_torch_sees(monkeypatch):
    assert resolve_device("cpu") == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert resolve_device("auto") == resolve_device(None) == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == "cuda"


@pytest.mark.parametrize("value", ["gpu", "cuda:x", "cpu:0", "", "cuda:1:2", "tpu", 3])
def test_unknown_forms_are_usage_errors(value):
    with pytest.raises(UsageError, match="--device must be one of"):
        resolve_device(value)


def test_an_absent_gpu_is_a_usage_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UsageError, match="no CUDA GPU"):
        resolve_device("cuda:0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(UsageError, match="numbered 0 to 0"):
        resolve_device("cuda:3")


def test_use_device_installs_and_restores():
    assert current_device() == "cpu"
    with use_device("cpu") as device:
        assert device == current_device() == "cpu"
    assert current_device() == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
@pytest.mark.parametrize("command", [["eval"], ["run", "--out", "{tmp}/run"],
                                     ["embed", "--encoder", "faces-mini", "--dataset", "faces", "--out", "{tmp}/e"],
                                     ["train", "--out", "{tmp}/b"],
                                     # the reasoning commands resolve it before reading their bundle or data
                                     ["train-reasoning", "--data", "{tmp}/missing", "--model", "{tmp}/none"],
                                     ["explain", "--model", "{tmp}/none"],
                                     ["eval", "--reasoning", "--model", "{tmp}/none"]])
def test_cli_device_absent_is_exit_2_one_line_nothing_written(command, tmp_path):
    from typer.testing import CliRunner

    from tinyemo_audit.cli.main import app

    args = [a.replace("{tmp}", str(tmp_path)) for a in command] + ["--device", "cuda:0"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "no CUDA GPU" in lines[0]
    assert list(tmp_path.iterdir()) == []
    assert MSG_NO_CUDA.split(":")[0] in MSG_NO_CUDA


@pytest.mark.parametrize("command", [["train-reasoning", "--data", "{tmp}/missing", "--model", "{tmp}/none"],
                                     ["explain", "--model", "{tmp}/none"], ["eval", "--reasoning", "--model", "{tmp}/none"],
                                     ["run", "--out", "{tmp}/run"], ["eval"]])
def test_cli_unknown_device_is_exit_2_one_line_before_any_work(command, tmp_path):
    from typer.testing import CliRunner

    from tinyemo_audit.cli.main import app

    args = [a.replace("{tmp}", str(tmp_path)) for a in command] + ["--device", "tpu"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0] == "tinyemo-audit: error: " + MSG_UNKNOWN.format(value="'tpu'")
    assert list(tmp_path.iterdir()) == []
