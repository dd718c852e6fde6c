"""Tests for tinyemo_audit.label_space.llm: any causal LM's input embeddings via ``llm:``."""

from __future__ import annotations

import json

import pytest
import torch

from tinyemo_audit.errors import InputError, UsageError, WeightsUnavailableError
from tinyemo_audit.label_space import llm as llm_module
from tinyemo_audit.label_space import resolve_label_space

CORPUS = ["angry happy sad fear surprise disgust neutral calm scene evoking viewers"] * 20 + [
    "a photo of an angry man", "a scene evoking happy feelings to viewers", "the cat sat",
]


def _tokenizer(kind: str = "bpe", vocab_size: int = 120):
    """A tiny fast tokenizer: byte-level BPE (Ġ, like SmolLM2) or Metaspace (▁, like Llama)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.BPE(unk_token="<unk>" if kind == "sp" else None))
    if kind == "bpe":
        tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tk.decoder = decoders.ByteLevel()
        alphabet = pre_tokenizers.ByteLevel.alphabet()
    else:
        tk.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="always")
        tk.decoder = decoders.Metaspace(prepend_scheme="always")
        alphabet = []
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size + len(alphabet), special_tokens=["<unk>", "<s>", "</s>"],
        initial_alphabet=alphabet, show_progress=False,
    )
    tk.train_from_iterator(CORPUS, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<s>", eos_token="</s>", unk_token="<unk>")


def _save_llama(folder, tokenizer, *, seed=0, **save_kwargs):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=2, bos_token_id=1, eos_token_id=2,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config).eval()
    model.save_pretrained(str(folder), **save_kwargs)
    tokenizer.save_pretrained(str(folder))
    return model


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny-llama")
    model = _save_llama(folder, _tokenizer("bpe"))
    return folder, model.get_input_embeddings().weight.detach().clone()


def _no_whole_model(*args, **kwargs):
    raise AssertionError("the whole model was loaded")


@pytest.fixture()
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_table_is_the_models_input_embeddings(tiny_llama, monkeypatch, offline):
    folder, expected = tiny_llama
    monkeypatch.setattr(llm_module, "_load_whole_model", _no_whole_model)
    space = resolve_label_space(f"llm:{folder}")
    assert space.spec == f"llm:{folder}"
    assert space.dim == 16
    assert torch.equal(space.table, expected)


def test_embedding_is_normalised_mean_of_rows(tiny_llama, offline):
    folder, table = tiny_llama
    space = resolve_label_space(f"llm:{folder}")
    assert space.leading_space  # byte-level BPE needs the space prepended
    ids = space.token_ids(["angry", "a photo of an angry man"])
    assert len(ids[0]) == 1  # " angry" is a merged word token in this vocabulary
    got = space.embed_texts(["angry", "a photo of an angry man"])
    for row, token_ids in zip(got, ids):
        manual = table[token_ids].mean(0)
        torch.testing.assert_close(row, manual / manual.norm())


def test_bos_joins_the_mean(tiny_llama, offline):
    folder, table = tiny_llama
    space = resolve_label_space(f"llm:{folder}", bos=True)
    ids = space.token_ids(["happy"])[0]
    manual = table[[1, *ids]].mean(0)
    torch.testing.assert_close(space.embed_texts(["happy"])[0], manual / manual.norm())
    assert space.fingerprint() != resolve_label_space(f"llm:{folder}").fingerprint()


def test_sharded_checkpoint_reads_only_the_embedding_shard(tmp_path, monkeypatch, offline):
    model = _save_llama(tmp_path, _tokenizer("bpe"), max_shard_size="4KB")
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) > 1
    opened = []
    original = llm_module._safetensors_shapes
    monkeypatch.setattr(llm_module, "_safetensors_shapes", lambda files: opened.extend(files) or original(files))
    monkeypatch.setattr(llm_module, "_load_whole_model", _no_whole_model)
    space = resolve_label_space(f"llm:{tmp_path}")
    assert [f.name for f in opened] == [index["weight_map"]["model.embed_tokens.weight"]]
    assert torch.equal(space.table, model.get_input_embeddings().weight.detach())


def test_sentencepiece_style_tokenizer_gets_no_extra_space(tmp_path, offline):
    _save_llama(tmp_path, _tokenizer("sp"))
    space = resolve_label_space(f"llm:{tmp_path}")
    assert not space.leading_space
    vocab = space.tokenizer.vocab()
    assert space.token_ids(["angry"]) == [[vocab["▁angry"]]]
    words, _ = space.vocabulary()
    assert "angry" in words


def test_tokenizer_override(tiny_llama, tmp_path, offline):
    folder, _ = tiny_llama
    other = _tokenizer("sp", vocab_size=60)
    other.save_pretrained(str(tmp_path))
    space = resolve_label_space(f"llm:{folder}", tokenizer=str(tmp_path))
    assert space.tokenizer.encode(["angry"]) == [other("angry", add_special_tokens=False)["input_ids"]]


def test_tokenizer_larger_than_table_is_rejected(tiny_llama, tmp_path, offline):
    folder, _ = tiny_llama
    bigger = _tokenizer("bpe")
    bigger.add_tokens([f"extra{i}" for i in range(100)])
    bigger.save_pretrained(str(tmp_path))
    with pytest.raises(InputError, match="rows"):
        resolve_label_space(f"llm:{folder}", tokenizer=str(tmp_path))


def _record(monkeypatch, cls_name):
    import transformers

    cls = getattr(transformers, cls_name)
    original = cls.from_pretrained.__func__
    calls = []

    def spy(klass, *args, **kwargs):
        calls.append(kwargs)
        return original(klass, *args, **kwargs)

    monkeypatch.setattr(cls, "from_pretrained", classmethod(spy))
    return calls


def test_trust_remote_code_only_when_asked(tiny_llama, monkeypatch, offline):
    folder, _ = tiny_llama
    calls = _record(monkeypatch, "AutoTokenizer")
    resolve_label_space(f"llm:{folder}")
    assert calls and all("trust_remote_code" not in kw for kw in calls)
    resolve_label_space(f"llm:{folder}", trust_remote_code=True)
    assert calls[-1]["trust_remote_code"] is True


def test_whole_model_fallback_and_its_kwargs(tiny_llama, monkeypatch, offline):
    folder, table = tiny_llama
    monkeypatch.setattr(llm_module, "EMBEDDING_KEYS", ())
    monkeypatch.setattr(llm_module, "EMBEDDING_SUFFIXES", ("no-such-suffix",))
    calls = _record(monkeypatch, "AutoModelForCausalLM")
    space = resolve_label_space(f"llm:{folder}", dtype="float16")
    assert len(calls) == 1 and "trust_remote_code" not in calls[0]
    assert space.table.dtype == torch.float16
    torch.testing.assert_close(space.table, table.half())
    resolve_label_space(f"llm:{folder}", trust_remote_code=True)
    assert calls[-1]["trust_remote_code"] is True


def test_missing_local_folder(tmp_path, offline):
    with pytest.raises(WeightsUnavailableError, match="config.json"):
        resolve_label_space(f"llm:{tmp_path / 'absent'}")


def test_uncached_hub_id_offline(offline):
    with pytest.raises(WeightsUnavailableError) as err:
        resolve_label_space("llm:tinyemo-audit-tests/no-such-model")
    assert "\n" not in str(err.value)


def test_empty_ref_is_usage_error():
    with pytest.raises(UsageError):
        resolve_label_space("llm:")
