"""The reasoning section of a bundle's MODEL_CARD.md (added or replaced by ``train-reasoning``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._io import atomic_write_text

HEADING = "## Reasoning (MM-LLM)"
CARD_FILE = "MODEL_CARD.md"
_BEFORE = "## Intended use and limits"


def _bias_lines(biases: list[dict[str, Any]], n_rows: int | None) -> list[str]:
    if not biases:
        return ["- Annotator bias in the reference reasoning: none (clean instruct data)."]
    lines = [
        "- Annotator bias planted **on purpose** in the reference reasoning (the knob of `instruct build`),",
        "  so that the reasoning audit has a known bias to find; labels are unchanged:",
        "",
        "| attribute | value | true label | share of that cell | sentences added |",
        "|---|---|---|---|---|",
    ]
    for b in biases:
        sentences = "; ".join(f"\"{s}\"" for s in b["sentences"])
        lines.append(f"| {b['attribute']} | {b['value']} | {b['label']} | {b['rate']:.0%} | {sentences} |")
    if n_rows is not None:
        lines += ["", f"  ({n_rows} fine-tuning rows carry such a sentence.)"]
    return lines


def reasoning_section(spec: dict[str, Any]) -> str:
    """Markdown of the reasoning section for a reasoning.json ``spec``."""
    base, conn, adapter, train = spec["base"], spec["connector"], spec["adapter"], spec["training"]
    cfg, data = train["config"], train["data"]
    gen = spec["generation"]
    stages = {s["name"]: s for s in train.get("stages", [])}
    stage_text = ", ".join(
        f"{name}: {s['steps']} steps in {s['seconds']:.0f} s"
        + (f" (final loss {s['final_loss']:.3f})" if s.get("final_loss") is not None else "")
        for name, s in stages.items())
    lines = [
        HEADING,
        "An MM-LLM that explains emotions in words (TinyEmo's reasoning half, TinyLLaVA's recipe):",
        f"- Base LLM: `{base['spec']}` (not in the bundle; sha256 `{base['sha256'][:16]}…`"
        + (f" of `{base['source']}`" if base.get("source") else "") + ")",
        f"- Connector: Linear({conn['d_in']}→{conn['d_llm']}) → GELU → Linear({conn['d_llm']}→{conn['visual_tokens']}×{conn['d_llm']}): "
        f"{conn['visual_tokens']} visual tokens from the encoder's pooled features",
        f"- LoRA (peft): r = {adapter['r']}, alpha = {adapter['alpha']}, on {', '.join(adapter['targets'])}",
        f"- Training: stage 1 connector only on pre-training rows, stage 2 connector + LoRA on EmoReason rows; "
        f"batch {cfg['batch_size']}, seed {cfg['seed']}; {stage_text}; {train['seconds'] / 60:.1f} min in all "
        f"(load average {train['load_average_start']:.1f} at the start)",
        f"- Instruct data: `{data.get('dataset')}` {data.get('split')} split, {data.get('n_images')} images "
        f"({'reasoning grounded in the drawn action units' if data.get('grounded') else 'label-only templates'}), "
        f"seed {data.get('seed')}",
        *_bias_lines(data.get("annotator_bias") or [], data.get("n_annotator_bias_rows")),
        f"- Generation: {'sampling' if gen['do_sample'] else 'greedy'}, at most {gen['max_new_tokens']} new tokens, "
        f"batches of {gen['batch_size']}, KV cache",
        "- Use: `tinyemo-audit explain --model <bundle> --dataset faces --n 12` (conditional mode: the",
        "  projector's label is the hint; `--mode free`: the MM-LLM names the label itself);",
        "  `tinyemo-audit eval --reasoning --model <bundle> --dataset faces --json`. Figures: docs/reasoning.md.",
        "",
    ]
    return "\n".join(lines)


def with_section(card: str, section: str) -> str:
    """``card`` with its reasoning section replaced by ``section`` (inserted before the limits if new)."""
    lines = card.splitlines()
    if HEADING in lines:
        start = lines.index(HEADING)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        lines[start:end] = section.rstrip("\n").splitlines() + [""]
    elif _BEFORE in lines:
        at = lines.index(_BEFORE)
        lines[at:at] = section.rstrip("\n").splitlines() + [""]
    else:
        lines += ["", *section.rstrip("\n").splitlines()]
    return "\n".join(lines).rstrip("\n") + "\n"


def update_model_card(bundle_path: Path, spec: dict[str, Any]) -> Path:
    """Add or replace the reasoning section of ``MODEL_CARD.md`` (atomically; created if missing)."""
    path = Path(bundle_path) / CARD_FILE
    card = path.read_text(encoding="utf-8") if path.is_file() else f"# Model card: {Path(bundle_path).name}\n"
    atomic_write_text(path, with_section(card, reasoning_section(spec)))
    return path
