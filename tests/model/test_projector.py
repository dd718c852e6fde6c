"""Tests for tinyemo_audit.model.projector: layout, dimension checks, safe checkpoint loading."""

from __future__ import annotations

import pickle

import pytest
import torch

from tinyemo_audit.errors import InputError, UsageError
from tinyemo_audit.model.projector import (
    MetricProjector,
    load_foreign_checkpoint,
    load_projector,
    projector_from_state_dict,
    save_projector,
)

TINYEMO_KEYS = {
    "model.0.weight", "model.0.bias",
    "model.1.weight", "model.1.bias", "model.1.running_mean", "model.1.running_var",
    "model.1.num_batches_tracked",
    "model.4.weight", "model.4.bias",
}


def _trained_projector(d_in=12, d_out=6, seed=0) -> MetricProjector:
    """A projector whose BatchNorm statistics and weights are no longer at their defaults."""
    torch.manual_seed(seed)
    projector = MetricProjector(d_in, d_out)
    optimiser = torch.optim.SGD(projector.parameters(), lr=0.1)
    for _ in range(3):
        loss = projector(torch.randn(16, d_in) * 3 + 1).pow(2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return projector.eval()


def test_layout_and_state_dict_keys_match_tinyemo():
    projector = MetricProjector(1024, 2048)
    layers = [type(m) for m in projector.model]
    assert layers == [torch.nn.Linear, torch.nn.BatchNorm1d, torch.nn.GELU, torch.nn.Dropout, torch.nn.Linear]
    assert projector.model[3].p == 0.2
    state = projector.state_dict()
    assert set(state) == TINYEMO_KEYS
    assert state["model.0.weight"].shape == (2048, 1024)
    assert state["model.4.weight"].shape == (2048, 2048)


def test_forward_shapes_and_dtype_cast():
    projector = MetricProjector(8, 5, dropout=0.0).eval()
    out = projector(torch.randn(3, 8, dtype=torch.float16))
    assert out.shape == (3, 5)
    assert out.dtype == torch.float32
    with pytest.raises(InputError, match=r"\[batch, 8\]"):
        projector(torch.randn(3, 9))


def test_eval_mode_is_deterministic_and_train_mode_drops_out():
    projector = _trained_projector()
    x = torch.randn(10, 12)
    torch.testing.assert_close(projector(x), projector(x), rtol=0, atol=0)
    # Eval mode normalises with running statistics, so one sample alone gives its batch answer.
    torch.testing.assert_close(projector(x[:1]), projector(x)[:1])
    projector.train()
    torch.manual_seed(1)
    a = projector(x)
    b = projector(x)
    assert not torch.allclose(a, b)


@pytest.mark.parametrize(
    "kwargs", [dict(d_in=0, d_out=4), dict(d_in=4, d_out="576"), dict(d_in=4, d_out=4, dropout=1.0)]
)
def test_bad_constructor_arguments(kwargs):
    with pytest.raises(UsageError):
        MetricProjector(**kwargs)


def test_from_state_dict_infers_dims_and_reproduces_outputs():
    source = _trained_projector(d_in=12, d_out=6)
    rebuilt = projector_from_state_dict(source.state_dict(), expected_in=12, expected_out=6)
    assert (rebuilt.d_in, rebuilt.d_out) == (12, 6)
    assert not rebuilt.training
    x = torch.randn(5, 12)
    torch.testing.assert_close(rebuilt(x), source(x), rtol=0, atol=0)


def test_from_state_dict_accepts_data_parallel_prefix_and_missing_counter():
    source = _trained_projector()
    state = {f"module.{k}": v for k, v in source.state_dict().items() if "num_batches" not in k}
    rebuilt = projector_from_state_dict(state)
    x = torch.randn(4, 12)
    torch.testing.assert_close(rebuilt(x), source(x))


def test_dimension_mismatch_messages_name_both_sides():
    state = MetricProjector(1024, 576).state_dict()
    with pytest.raises(InputError) as err:
        projector_from_state_dict(state, expected_in=768)
    assert str(err.value) == "projector expects image features of dimension 1024 but the encoder gives 768"
    with pytest.raises(InputError) as err:
        projector_from_state_dict(state, expected_out=2048)
    assert "576" in str(err.value) and "2048" in str(err.value)
    assert "\n" not in str(err.value)


def test_inconsistent_shapes_missing_and_extra_keys_are_rejected():
    good = MetricProjector(10, 4).state_dict()

    bad_shape = dict(good, **{"model.4.weight": torch.zeros(4, 3)})
    with pytest.raises(InputError, match=r"model\.4\.weight.*\(4, 3\).*\(4, 4\)"):
        projector_from_state_dict(bad_shape)

    missing = {k: v for k, v in good.items() if k != "model.1.running_var"}
    with pytest.raises(InputError, match="lacks keys: model.1.running_var"):
        projector_from_state_dict(missing)

    extra = dict(good, **{"model.5.weight": torch.zeros(1)})
    with pytest.raises(InputError, match="unexpected keys: model.5.weight"):
        projector_from_state_dict(extra)

    with pytest.raises(InputError, match="model.0.weight"):
        projector_from_state_dict({"proj.weight": torch.zeros(4, 10)})

    not_tensor = dict(good, **{"model.0.bias": [0.0] * 4})
    with pytest.raises(InputError, match="not a tensor"):
        projector_from_state_dict(not_tensor)

    nan = dict(good, **{"model.0.bias": torch.full((4,), float("nan"))})
    with pytest.raises(InputError, match="NaN"):
        projector_from_state_dict(nan)


def test_save_load_round_trip(tmp_path):
    source = _trained_projector(d_in=12, d_out=6)
    source.model[3].p = 0.3
    source.dropout = 0.3
    path = tmp_path / "sub" / "projector.safetensors"
    save_projector(source, path)
    assert [p.name for p in path.parent.iterdir()] == ["projector.safetensors"]  # no temp left over
    loaded = load_projector(path)
    assert (loaded.d_in, loaded.d_out, loaded.dropout) == (12, 6, 0.3)
    for key, value in source.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value, rtol=0, atol=0)
    x = torch.randn(7, 12)
    torch.testing.assert_close(loaded(x), source(x), rtol=0, atol=0)

    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        assert handle.metadata()["d_in"] == "12"
        assert handle.metadata()["d_out"] == "6"


def test_load_projector_rejects_missing_corrupt_and_foreign_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_projector(tmp_path / "absent.safetensors")
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\x00" * 20)
    with pytest.raises(InputError, match="cannot read projector"):
        load_projector(corrupt)

    from safetensors.torch import save_file

    no_meta = tmp_path / "no_meta.safetensors"
    save_file(MetricProjector(3, 2).state_dict(), str(no_meta))
    with pytest.raises(InputError, match="d_in/d_out metadata"):
        load_projector(no_meta)


@pytest.mark.parametrize("suffix", [".bin", ".pt", ".pth"])
@pytest.mark.parametrize("wrapper", [None, "state_dict", "model"])
def test_foreign_torch_checkpoint_loads_with_and_without_wrapper(tmp_path, suffix, wrapper):
    source = _trained_projector()
    state = source.state_dict()
    payload = state if wrapper is None else {wrapper: state, "epoch": 5}
    path = tmp_path / f"pytorch_model{suffix}"
    torch.save(payload, path)
    loaded = load_foreign_checkpoint(path)
    assert set(loaded) == TINYEMO_KEYS
    projector = projector_from_state_dict(loaded, expected_in=12)
    x = torch.randn(3, 12)
    torch.testing.assert_close(projector(x), source(x), rtol=0, atol=0)


def test_foreign_safetensors_checkpoint_loads(tmp_path):
    from safetensors.torch import save_file

    state = MetricProjector(6, 3).state_dict()
    path = tmp_path / "model.safetensors"
    save_file(state, str(path))
    assert set(load_foreign_checkpoint(path)) == TINYEMO_KEYS


class _Payload:
    """Unpickling this would create the marker file — the attack a weights-only loader must stop."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_malicious_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "pytorch_model.bin"
    torch.save({"model.0.weight": torch.zeros(2, 2), "payload": _Payload(marker)}, path)
    with pytest.raises(InputError) as err:
        load_foreign_checkpoint(path)
    assert not marker.exists()
    message = str(err.value)
    assert message.startswith(f"refusing checkpoint {path}: it is not a plain tensor checkpoint (it holds Python "
                              "objects that could run code when loaded, e.g. ")
    assert message.endswith("open); convert it to safetensors")  # names the refused global
    assert "weights_only" not in message and "\n" not in message

    legacy = tmp_path / "legacy.pt"
    with open(legacy, "wb") as handle:
        pickle.dump(_Payload(marker), handle)
    with pytest.raises(InputError):
        load_foreign_checkpoint(legacy)
    assert not marker.exists()


def test_foreign_checkpoint_bad_inputs(tmp_path):
    with pytest.raises(InputError, match="valid suffixes"):
        load_foreign_checkpoint(tmp_path / "weights.ckpt")
    with pytest.raises(InputError, match="not found"):
        load_foreign_checkpoint(tmp_path / "absent.pt")
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"this is not a checkpoint")
    with pytest.raises(InputError):
        load_foreign_checkpoint(garbage)
    bad_safetensors = tmp_path / "bad.safetensors"
    bad_safetensors.write_bytes(b"\xff" * 16)
    with pytest.raises(InputError, match="cannot load checkpoint"):
        load_foreign_checkpoint(bad_safetensors)
    a_tensor = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), a_tensor)
    with pytest.raises(InputError, match="not a state dict"):
        load_foreign_checkpoint(a_tensor)
    mixed = tmp_path / "mixed.pt"
    torch.save({"w": torch.zeros(1), "lr": 0.1}, mixed)
    with pytest.raises(InputError, match="not named tensors: lr"):
        load_foreign_checkpoint(mixed)
