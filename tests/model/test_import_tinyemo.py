"""Importing released TinyEmo projectors: published shapes, dimension checks, bundles, configs, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tinyemo_audit.data.registry import load_dataset
from tinyemo_audit.errors import InputError, WeightsUnavailableError
from tinyemo_audit.model.bundle import LABELS_FILE, PROJECTOR_FILE, load_bundle
from tinyemo_audit.model.evaluate import evaluate_bundle
from tinyemo_audit.model.tinyemo_import import (
    TinyEmoImport,
    import_published,
    import_tinyemo_projector,
    published_configs,
)

CLIP_L14 = "hf:openai/clip-vit-large-patch14"  # 768-d in the encoder catalogue; no weights needed
EKMAN = ("anger", "disgust", "fear", "joy", "sadness", "surprise")
# Hidden sizes of the published variants' LLMs (their projectors map 768 → these).
PUBLISHED_WIDTHS = {"openelm-270m": 1280, "openelm-450m": 1536, "tinyllama-1.1b": 2048, "phi-2": 2560}


def _tokenizer():
    """A tiny Llama-style (Metaspace, BOS-adding) fast tokenizer over a few emotion words."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = [*EKMAN, "a", "scene", "evoking", "to", "viewers", "happy", "angry", "calm"]
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, **{f"▁{w}": i + 3 for i, w in enumerate(words)}}
    tk = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="always")
    return PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<s>", eos_token="</s>", unk_token="<unk>")


@pytest.fixture(scope="module")
def openelm_like(tmp_path_factory):
    """A tiny random Llama of width 1280 (OpenELM-270M's) saved WITHOUT a tokenizer, plus one apart."""
    from transformers import LlamaConfig, LlamaForCausalLM

    root = tmp_path_factory.mktemp("llm")
    tokenizer = _tokenizer()
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=1280, intermediate_size=16, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=2, bos_token_id=1, eos_token_id=2)
    LlamaForCausalLM(config).save_pretrained(str(root / "model"))
    tokenizer.save_pretrained(str(root / "tokenizer"))
    return root / "model", root / "tokenizer"


def _state_dict(d_in: int, d_out: int, seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {
        "model.0.weight": torch.randn(d_out, d_in, generator=gen) / d_in**0.5,
        "model.0.bias": torch.randn(d_out, generator=gen) * 0.1,
        "model.1.weight": 1 + 0.1 * torch.randn(d_out, generator=gen),
        "model.1.bias": 0.1 * torch.randn(d_out, generator=gen),
        "model.1.running_mean": 0.1 * torch.randn(d_out, generator=gen),
        "model.1.running_var": 0.5 + torch.rand(d_out, generator=gen),
        "model.1.num_batches_tracked": torch.tensor(1234),
        "model.4.weight": torch.randn(d_out, d_out, generator=gen) / d_out**0.5,
        "model.4.bias": torch.randn(d_out, generator=gen) * 0.1,
    }


def _save_bin(path, d_in, d_out):
    torch.save(_state_dict(d_in, d_out), path)
    return path


def _pt_feature_folder(root, dim=768, per_class=3):
    gen = torch.Generator().manual_seed(1)
    for label in EKMAN:
        folder = root / "test" / label
        folder.mkdir(parents=True)
        for i in range(per_class):
            torch.save(torch.randn(dim, generator=gen), folder / f"{i}.pt")
    return root


def test_published_shapes_import_and_evaluate_on_a_feature_folder(tmp_path, openelm_like, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TINYEMO_AUDIT_CACHE", str(tmp_path / "cache"))
    model_dir, tokenizer_dir = openelm_like
    weights = _save_bin(tmp_path / "TinyEmo-CLIP-OpenELM-270M.bin", 768, 1280)
    out = import_tinyemo_projector(
        f"tinyemo:{weights}", encoder=CLIP_L14, label_space=f"llm:{model_dir}", tokenizer=str(tokenizer_dir),
        bos=True, taxonomy="ekman6", out=tmp_path / "bundle",
    )
    spec = json.loads((out / "bundle.json").read_text())
    assert spec["projector"]["d_in"] == 768 and spec["projector"]["d_out"] == 1280
    assert spec["encoder"] == {"spec": CLIP_L14, "weights": None, "dim": 768}
    assert spec["label_space"]["tokenizer"] == str(tokenizer_dir) and spec["label_space"]["bos"] is True
    assert (out / "MODEL_CARD.md").read_text().startswith("# Model card")
    assert (out / PROJECTOR_FILE).is_file() and (out / LABELS_FILE).is_file()

    bundle = load_bundle(out)
    data = load_dataset(f"features:{_pt_feature_folder(tmp_path / 'emotion6')}", "test")
    result = evaluate_bundle(bundle, data, progress=False)
    assert result["n"] == 18 and 0.0 <= result["accuracy"] <= 1.0

    # The bundle applies the released weights exactly: Linear → BatchNorm (running stats) → GELU → Linear.
    w = _state_dict(768, 1280)
    x = torch.as_tensor(np.asarray(data.features))
    h = x @ w["model.0.weight"].T + w["model.0.bias"]
    h = (h - w["model.1.running_mean"]) / torch.sqrt(w["model.1.running_var"] + 1e-5)
    h = torch.nn.functional.gelu(h * w["model.1.weight"] + w["model.1.bias"])
    expected = torch.nn.functional.normalize(h @ w["model.4.weight"].T + w["model.4.bias"], dim=-1)
    labels = bundle.label_embeddings
    predicted = (expected @ labels.T).argmax(1).numpy()
    confusion = np.zeros((6, 6), dtype=int)
    np.add.at(confusion, (data.labels, predicted), 1)
    assert result["confusion"] == confusion.tolist()

    # With BOS each label mean includes the BOS row: the stored embeddings say so.
    from safetensors.torch import load_file

    table = load_file(str(model_dir / "model.safetensors"))["model.embed_tokens.weight"]
    anger = torch.nn.functional.normalize(table[1] + table[3], dim=0)  # <s> + ▁anger, mean then L2
    torch.testing.assert_close(labels[0], anger, rtol=1e-5, atol=1e-6)


def test_wrong_encoder_width_names_both_shapes(tmp_path, openelm_like):
    weights = _save_bin(tmp_path / "p.bin", 1024, 1280)
    with pytest.raises(InputError) as err:
        import_tinyemo_projector(weights, encoder=CLIP_L14, label_space=f"llm:{openelm_like[0]}",
                                 tokenizer=str(openelm_like[1]), out=tmp_path / "b")
    message = str(err.value)
    assert "1024" in message and "768" in message and CLIP_L14 in message and "\n" not in message
    assert not (tmp_path / "b").exists()


def test_wrong_label_space_width_names_both_shapes(tmp_path, openelm_like):
    weights = _save_bin(tmp_path / "p.bin", 768, 2048)  # a TinyLlama projector against a 1280-d LLM
    with pytest.raises(InputError, match=r"2048-d embeddings .* has 1280-d token embeddings"):
        import_tinyemo_projector(weights, encoder=CLIP_L14, label_space=f"llm:{openelm_like[0]}",
                                 tokenizer=str(openelm_like[1]), out=tmp_path / "b")


def test_cli_exit_2_with_one_line_naming_both_shapes(tmp_path, openelm_like):
    from typer.testing import CliRunner

    from tinyemo_audit.cli.main import app

    weights = _save_bin(tmp_path / "p.bin", 1024, 1280)
    args = ["import-tinyemo", "--projector", f"tinyemo:{weights}", "--encoder", CLIP_L14,
            "--label-space", f"llm:{openelm_like[0]}", "--tokenizer", str(openelm_like[1]),
            "--out", str(tmp_path / "b")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "1024" in lines[0] and "768" in lines[0]

    good = _save_bin(tmp_path / "good.bin", 768, 1280)
    args[2] = f"tinyemo:{good}"
    result = CliRunner().invoke(app, [*args, "--taxonomy", "joy,sadness", "--bos"])
    assert result.exit_code == 0, result.output
    assert load_bundle(tmp_path / "b").classes == ("joy", "sadness")


def test_missing_tokenizer_or_weights_fail_with_one_line(tmp_path, openelm_like, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    weights = _save_bin(tmp_path / "p.bin", 768, 1280)
    # OpenELM-like: no tokenizer of its own, so without the override it cannot be used.
    with pytest.raises(WeightsUnavailableError, match="tokenizer"):
        import_tinyemo_projector(weights, encoder=CLIP_L14, label_space=f"llm:{openelm_like[0]}", out=tmp_path / "b")
    with pytest.raises(WeightsUnavailableError, match="not found"):
        import_tinyemo_projector(tmp_path / "absent.bin", encoder=CLIP_L14, label_space="llm:x", out=tmp_path / "b")


@pytest.mark.parametrize("variant", sorted(PUBLISHED_WIDTHS))
def test_published_configs_fail_cleanly_without_weights(variant, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    config = TinyEmoImport.from_yaml(published_configs()[variant])
    assert config.encoder_dim == 768 and config.label_space_dim == PUBLISHED_WIDTHS[variant]
    assert config.trust_remote_code is False
    with pytest.raises(WeightsUnavailableError) as err:
        import_published(variant, tmp_path / "b")  # projector not in the (empty) HF cache
    assert "\n" not in str(err.value)
    # With the projector on disk, the missing LLM is what fails, still as one line.
    weights = _save_bin(tmp_path / "p.bin", 768, PUBLISHED_WIDTHS[variant])
    with pytest.raises(WeightsUnavailableError, match=config.label_space.removeprefix("llm:")):
        import_published(variant, tmp_path / "b", projector=f"tinyemo:{weights}")


def test_published_variant_with_a_local_llm(tmp_path, openelm_like, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model_dir, tokenizer_dir = openelm_like
    weights = _save_bin(tmp_path / "p.bin", 768, 1280)
    out = import_published("openelm-270m", tmp_path / "b", projector=f"tinyemo:{weights}",
                           label_space=f"llm:{model_dir}", tokenizer=str(tokenizer_dir))
    spec = json.loads((out / "bundle.json").read_text())
    assert spec["name"] == "tinyemo-clip-openelm-270m" and spec["label_space"]["bos"] is True
    assert spec["taxonomy"]["classes"] == list(EKMAN)
    # The config's 1280 is checked before any LLM loads: a 1536-d projector fails at once.
    wrong = _save_bin(tmp_path / "w.bin", 768, 1536)
    with pytest.raises(InputError, match="1536-d embeddings .* 1280-d"):
        import_published("openelm-270m", tmp_path / "b2", projector=f"tinyemo:{wrong}")


def test_models_list_shows_bundles_variants_and_encoders(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from tinyemo_audit.model.catalog import model_catalog

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TINYEMO_AUDIT_MODELS", str(tmp_path / "models"))
    catalog = model_catalog()
    assert {row["variant"] for row in catalog["published"]} == set(PUBLISHED_WIDTHS)
    assert all(row["available"] is False and "projector" in row["missing"] for row in catalog["published"])
    assert {row["dims"] for row in catalog["published"]} == {f"768->{w}" for w in PUBLISHED_WIDTHS.values()}
    assert catalog["bundles"] == []
    from tinyemo_audit.cli.main import app

    result = CliRunner().invoke(app, ["models", "list", "--json", "--no-check-weights"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert {row["spec"] for row in shown["encoders"]} >= {"open_clip:ViT-L-14/openai", "hf:facebook/dinov2-large"}
    text = CliRunner().invoke(app, ["models", "list", "--no-check-weights"]).output
    assert "openelm-270m" in text and "768->1280" in text and "siglip-so400m" in text
