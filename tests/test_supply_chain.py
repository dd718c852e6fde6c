"""Supply-chain hygiene: remote code only when flagged, no pickle code ever runs, foreign tensors checked before use."""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest
import torch

import tinyemo_audit
from tinyemo_audit.errors import InputError, WeightsUnavailableError

PACKAGE = Path(tinyemo_audit.__file__).resolve().parent
LOADERS = {"from_pretrained", "create_model", "create_model_and_transforms", "create_model_from_pretrained"}


# trust_remote_code ------------------------------------------------------------------------------

def _loader_calls():
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in LOADERS:
                yield path.relative_to(PACKAGE).as_posix(), node


def test_model_loaders_get_trust_remote_code_only_from_the_flag():
    calls = list(_loader_calls())
    assert len(calls) >= 5  # the audit sees the transformers and open_clip loaders
    for module, node in calls:
        where = f"{module}:{node.lineno}"
        for keyword in node.keywords:
            if keyword.arg == "trust_remote_code":
                pytest.fail(f"{where} passes trust_remote_code directly; build it from the flag as `remote`")
            if keyword.arg is None:  # **splat: only the flag-derived `remote` dict is allowed
                assert isinstance(keyword.value, ast.Name) and keyword.value.id == "remote", where


def test_remote_is_only_ever_built_from_an_explicit_true_flag():
    expected = ast.dump(ast.parse('{"trust_remote_code": True} if trust_remote_code is True else {}',
                                  mode="eval").body)
    found = 0
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "remote" for t in node.targets):
                assert ast.dump(node.value) == expected, f"{path.name}:{node.lineno}"
                found += 1
    assert found >= 2


def _tiny_llm_folder(folder: Path, table: torch.Tensor) -> Path:
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"model_type": "llama", "vocab_size": table.shape[0]}))
    save_file({"model.embed_tokens.weight": table}, str(folder / "model.safetensors"))
    return folder


class _Spy:
    def __init__(self):
        self.kwargs = []

    def __call__(self, *args, **kwargs):
        self.kwargs.append(kwargs)
        raise OSError("stopped by the spy")


@pytest.mark.parametrize("flag, expected", [(False, None), (True, True)])
def test_llm_label_space_passes_remote_code_only_when_flagged(flag, expected, tmp_path, monkeypatch):
    import transformers

    from tinyemo_audit.label_space.llm import load_llm

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spy = _Spy()
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", spy)
    folder = _tiny_llm_folder(tmp_path / "llm", torch.randn(10, 4))
    with pytest.raises(WeightsUnavailableError, match="cannot load tokenizer"):
        load_llm(str(folder), trust_remote_code=flag)
    assert [kw.get("trust_remote_code") for kw in spy.kwargs] == [expected]


@pytest.mark.parametrize("flag, expected", [(False, None), (True, True)])
def test_hf_encoder_passes_remote_code_only_when_flagged(flag, expected, tmp_path, monkeypatch):
    from tinyemo_audit.encoders import hf

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "vit"}))
    (tmp_path / hf.PREPROCESSOR_FILE).write_text(json.dumps({
        "do_resize": True, "size": {"height": 16, "width": 16}, "do_normalize": True,
        "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]}))
    spy = _Spy()

    class Model:
        from_pretrained = staticmethod(spy)

    monkeypatch.setattr(hf, "_model_class", lambda model_type: Model)
    with pytest.raises(WeightsUnavailableError, match="cannot load the model"):
        hf.HFVisionEncoder(str(tmp_path), trust_remote_code=flag)
    assert [kw.get("trust_remote_code") for kw in spy.kwargs] == [expected]


# pickles never run -------------------------------------------------------------------------------

class _Payload:
    """Unpickling this touches a marker file (what a hostile checkpoint would do)."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


def _hostile_checkpoint(path: Path, marker: Path) -> Path:
    torch.save({"model.0.weight": torch.zeros(2, 2), "evil": _Payload(marker)}, path)
    return path


def test_a_pickle_payload_never_runs(tmp_path):
    from tinyemo_audit.model.projector import load_foreign_checkpoint

    marker = tmp_path / "pwned"
    for suffix in (".bin", ".pt", ".pth"):
        with pytest.raises(InputError, match="refusing checkpoint") as info:
            load_foreign_checkpoint(_hostile_checkpoint(tmp_path / f"evil{suffix}", marker))
        assert "\n" not in str(info.value)
    assert not marker.exists()


def test_a_safetensors_sibling_is_read_instead_of_the_pickle(tmp_path):
    from safetensors.torch import save_file

    from tinyemo_audit.model.projector import load_foreign_checkpoint

    marker = tmp_path / "pwned"
    weights = {"model.0.weight": torch.arange(4.0).reshape(2, 2)}
    for pickle_name, safe_name in (("projector.bin", "projector.safetensors"),
                                   ("pytorch_model.bin", "model.safetensors")):
        folder = tmp_path / pickle_name
        folder.mkdir()
        _hostile_checkpoint(folder / pickle_name, marker)
        save_file(weights, str(folder / safe_name))
        state = load_foreign_checkpoint(folder / pickle_name)
        assert torch.equal(state["model.0.weight"], weights["model.0.weight"])
    assert not marker.exists()


def test_tinyemo_import_refuses_a_hostile_projector(tmp_path):
    from tinyemo_audit.model.tinyemo_import import import_tinyemo_projector

    marker = tmp_path / "pwned"
    path = _hostile_checkpoint(tmp_path / "TinyEmo.bin", marker)
    with pytest.raises(InputError, match="refusing checkpoint"):
        import_tinyemo_projector(f"tinyemo:{path}", encoder="x", encoder_dim=2, label_space="minilm",
                                 out=tmp_path / "bundle")
    assert not marker.exists() and not (tmp_path / "bundle").exists()


# foreign tensors are checked before use ----------------------------------------------------------

def _projector_state(d_in=6, d_out=4):
    from tinyemo_audit.model.projector import MetricProjector

    return dict(MetricProjector(d_in, d_out).state_dict())


@pytest.mark.parametrize("damage, message", [
    (lambda s: s.update({"model.0.weight": torch.full((4, 6), float("nan"))}), "NaN or infinite"),
    (lambda s: s.update({"model.4.bias": torch.full((4,), float("inf"))}), "NaN or infinite"),
    (lambda s: s.update({"model.0.weight": torch.zeros(4, 6, dtype=torch.int64)}), "expected a floating-point"),
    (lambda s: s.update({"model.1.num_batches_tracked": torch.tensor(1.5)}), "expected an integer"),
    (lambda s: s.update({"model.4.weight": torch.zeros(4, 5)}), "has shape"),
    (lambda s: s.pop("model.4.bias"), "lacks keys"),
    (lambda s: s.update({"extra.weight": torch.zeros(1)}), "unexpected keys"),
])
def test_tinyemo_projector_tensors_are_checked(damage, message, tmp_path):
    from tinyemo_audit.model.projector import load_foreign_checkpoint, projector_from_state_dict

    state = _projector_state()
    damage(state)
    torch.save(state, tmp_path / "p.bin")
    with pytest.raises(InputError, match=message) as info:
        projector_from_state_dict(load_foreign_checkpoint(tmp_path / "p.bin"))
    assert "\n" not in str(info.value)


@pytest.fixture(scope="module")
def tiny_open_clip(tmp_path_factory):
    open_clip = pytest.importorskip("open_clip")
    folder = tmp_path_factory.mktemp("open_clip_configs")
    config = {"embed_dim": 16, "vision_cfg": {"image_size": 16, "layers": 1, "width": 16, "patch_size": 8,
                                              "head_width": 8},
              "text_cfg": {"context_length": 8, "vocab_size": 64, "width": 16, "heads": 2, "layers": 1}}
    (folder / "tinyemo-supply-vit.json").write_text(json.dumps(config))
    open_clip.add_model_config(folder / "tinyemo-supply-vit.json")
    from tinyemo_audit.encoders.open_clip import OpenClipEncoder

    encoder = OpenClipEncoder("tinyemo-supply-vit", None)
    return "tinyemo-supply-vit", {k: v.clone() for k, v in encoder.model.state_dict().items()}


def test_open_clip_checkpoint_loads_through_the_safe_reader(tiny_open_clip, tmp_path):
    from safetensors.torch import save_file

    from tinyemo_audit.encoders.open_clip import OpenClipEncoder

    arch, state = tiny_open_clip
    changed = {k: v + 0.01 if v.is_floating_point() else v for k, v in state.items()}
    marker = tmp_path / "pwned"
    _hostile_checkpoint(tmp_path / "w.pt", marker)
    save_file({k: v.contiguous() for k, v in changed.items()}, str(tmp_path / "w.safetensors"))
    encoder = OpenClipEncoder(arch, str(tmp_path / "w.pt"))  # the safetensors sibling wins
    assert not marker.exists()
    for key, value in encoder.model.state_dict().items():
        assert torch.equal(value, changed[key]), key
    (tmp_path / "w.safetensors").unlink()
    with pytest.raises(InputError, match="refusing checkpoint"):
        OpenClipEncoder(arch, str(tmp_path / "w.pt"))
    assert not marker.exists()


@pytest.mark.parametrize("damage, message", [
    ("nan", "NaN or infinite"),
    ("shape", "this architecture needs"),
    ("missing", "lacks 1 tensor"),
    ("extra", "this architecture lacks"),
    ("int", "this architecture needs torch.float32"),
])
def test_open_clip_checkpoint_tensors_are_checked(damage, message, tiny_open_clip, tmp_path):
    from tinyemo_audit.encoders.open_clip import OpenClipEncoder

    arch, state = tiny_open_clip
    state = dict(state)
    key = "visual.proj"
    if damage == "nan":
        state[key] = torch.full_like(state[key], float("nan"))
    elif damage == "shape":
        state[key] = torch.zeros(3, 3)
    elif damage == "missing":
        del state[key]
    elif damage == "extra":
        state["visual.backdoor"] = torch.zeros(1)
    else:
        state[key] = state[key].to(torch.int64)
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, tmp_path / "ckpt.pt")
    with pytest.raises(InputError, match=message) as info:
        OpenClipEncoder(arch, str(tmp_path / "ckpt.pt"))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("table, message", [
    (torch.full((10, 4), float("nan")), "NaN or infinite"),
    (torch.zeros(10, 4, dtype=torch.int32), "floating-point"),
])
def test_llm_embedding_table_is_checked(table, message, tmp_path, monkeypatch):
    from tinyemo_audit.label_space.llm import load_llm

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = _tiny_llm_folder(tmp_path / "llm", table)
    with pytest.raises(InputError, match=message) as info:
        load_llm(str(folder))
    assert "\n" not in str(info.value)


def test_llm_damaged_safetensors_is_one_clear_line(tmp_path, monkeypatch):
    from tinyemo_audit.label_space.llm import load_llm

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = _tiny_llm_folder(tmp_path / "llm", torch.randn(10, 4))
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[:20])
    with pytest.raises(InputError, match="cannot read its safetensors weights") as info:
        load_llm(str(folder))
    assert "\n" not in str(info.value)
