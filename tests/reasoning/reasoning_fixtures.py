"""Helpers of the reasoning tests: a tiny random Llama saved to a folder, a copy of the shipped bundle."""

from __future__ import annotations

import shutil
from pathlib import Path

from tinyemo_audit.paths import models_dir

BUNDLE = "tinyemo-faces-mini"
TINY_STEPS = {"stage1_steps": 2, "stage2_steps": 2, "batch_size": 4}


def save_tiny_llama(folder: Path, *, seed: int = 0, hidden: int = 32) -> Path:
    """A randomly initialised 2-layer Llama and a small byte-level BPE tokenizer saved to ``folder``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    corpus = ["Reasoning: The face shows raised cheeks and lip corners pulled up. Predicted Label: happy",
              "What emotion does this face show? Explain your reasoning, then give the label.",
              "angry disgust fear happy sad surprise neutral calm brows eyes mouth lips nose"] * 10
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    tk.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=300 + len(alphabet), special_tokens=["<unk>", "<s>", "</s>"],
                                                       initial_alphabet=alphabet, show_progress=False))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tk, bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, bos_token_id=1,
                         eos_token_id=2, tie_word_embeddings=False)
    LlamaForCausalLM(config).save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


def copy_bundle(target: Path) -> Path:
    """A private copy of the default bundle without any reasoning part."""
    return Path(shutil.copytree(models_dir() / BUNDLE, target, ignore=shutil.ignore_patterns("reasoning")))
