"""The reasoning half's commands: ``instruct build``, ``train-reasoning``, ``explain`` and ``eval --reasoning``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import UsageError
from ._errors import AuditGroup
from ._scale_options import DEVICE_HELP

DEFAULT_EXPLAIN_N = 12
instruct_app = typer.Typer(
    cls=AuditGroup,  # the error boundary, also when this group is invoked on its own
    help="Synthetic emotional instruct data: TinyEmo's pre-training and EmoReason formats as LLaVA-style JSON.",
    no_args_is_help=True,
)


@instruct_app.command("build")
def instruct_build(
    out: Annotated[Path, typer.Option(help="Folder to write (new, empty, or a previous instruct folder, which is replaced whole).")],
    dataset: Annotated[Optional[str], typer.Option(help="'faces' (reasoning grounded in the drawn action units) or any labelled image dataset spec ('imagefolder:<root>', 'csv:<manifest>', a named layout: label-only templates). Default faces.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed of every template choice (same seed, same bytes). Default 0.")] = None,
    n: Annotated[Optional[int], typer.Option(help="Number of images (the split's first N). Default 4000.")] = None,
    split: Annotated[Optional[str], typer.Option(help="Split to draw from. Default train.")] = None,
    config: Annotated[Optional[Path], typer.Option(help="Instruct config YAML (configs/instruct/*.yaml): the same keys, plus the annotator-bias knob `annotator_bias`; flags override it.")] = None,
) -> None:
    """Write instruct data: pretrain.json, finetune.json (EmoReason), images/ and instruct.json.

    Pre-training rows are captions, short VQA and sentiment QA; fine-tuning rows answer
    "Reasoning: ... Predicted Label: X", half of them with the label as a hint in the prompt.
    Reference texts describe expressions only; attribute-linked wording enters only through the
    config's documented annotator-bias knob.
    """
    from ..reasoning.instruct import build_instruct, instruct_plan
    from ..reasoning.settings import InstructConfig
    from ..user_text import visible

    instruct_plan(out, dataset or "faces", config).check()  # before the config is even read
    cfg = InstructConfig.from_sources(config, dataset=dataset, seed=seed, n_images=n, split=split)
    typer.echo(f"wrote {visible(str(build_instruct(cfg, out, config_file=config)), one_line=True)}")


def train_reasoning(
    data: Annotated[Path, typer.Option(help="Instruct folder written by `instruct build`.")],
    model: Annotated[str, typer.Option(help="Bundle name (in models/) or folder; its reasoning/ part is replaced.")] = "tinyemo-faces-mini",
    config: Annotated[Optional[Path], typer.Option(help="Training config YAML (configs/reasoning/*.yaml); flags override it.")] = None,
    llm: Annotated[Optional[str], typer.Option(help="Base LLM: 'smollm2-135m' (the offline GGUF, default) or 'llm:<hf-id-or-folder>' (safetensors).")] = None,
    visual_tokens: Annotated[Optional[int], typer.Option(help="Visual tokens the connector writes (default 4).")] = None,
    stage1_steps: Annotated[Optional[int], typer.Option(help="Stage 1 steps: connector only, pre-training rows.")] = None,
    stage2_steps: Annotated[Optional[int], typer.Option(help="Stage 2 steps: connector + LoRA, EmoReason rows.")] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Examples per step.")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed of the connector's initialisation and the batch order.")] = None,
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code", help="Allow an llm: base's own code to run (off unless asked).")] = False,
    device: Annotated[Optional[str], typer.Option(help=DEVICE_HELP)] = None,
) -> None:
    """Train the bundle's MM-LLM (encoder → connector → visual tokens → LLM with LoRA) on instruct data.

    Stage 1 trains the two-layer GELU connector alone on the pre-training rows; stage 2 trains the
    connector and LoRA adapters (peft) on the EmoReason rows. Writes <bundle>/reasoning/
    (safetensors + reasoning.json with the base model's digest) and a MODEL_CARD.md section.
    """
    from ..devices import use_device
    from ..reasoning.settings import ReasoningTrainConfig
    from ..reasoning.train import train_reasoning as train
    from ..user_text import visible

    with use_device(device):  # resolved before anything is read
        cfg = ReasoningTrainConfig.from_sources(
            config, llm=llm, visual_tokens=visual_tokens, stage1_steps=stage1_steps, stage2_steps=stage2_steps,
            batch_size=batch_size, seed=seed, trust_remote_code=trust_remote_code or None,
        )
        folder = train(model, data, cfg, config_file=config)
    typer.echo(f"wrote {visible(str(folder), one_line=True)}")


def _split_ids(ids: list[str] | None) -> list[str] | None:
    if not ids:
        return None
    out = [part.strip() for value in ids for part in value.split(",") if part.strip()]
    return out or None


def _settings(bundle, max_new_tokens: int | None, batch_size: int | None):
    from dataclasses import replace

    settings = bundle.reasoning.generation
    for name, value in (("max_new_tokens", max_new_tokens), ("batch_size", batch_size)):
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    changes = {k: v for k, v in (("max_new_tokens", max_new_tokens), ("batch_size", batch_size)) if v is not None}
    return replace(settings, **changes)


def _text(records) -> str:
    from ..user_text import shown, visible

    lines = []
    for r in records:
        stated = r.stated_label if r.stated_label is not None else "(none parsed)"
        lines.append(f"{shown(r.id)}  projector: {r.projector_label} ({r.projector_probability:.2f})  "
                     f"stated: {stated}  [{r.mode}]")
        lines.append(f"  {visible(r.reasoning, one_line=True)}")
    return "\n".join(lines)


def explain(
    model: Annotated[str, typer.Option(help="Bundle with a reasoning part (name in models/ or folder).")] = "tinyemo-faces-mini",
    dataset: Annotated[Optional[str], typer.Option(help="Dataset spec ('faces', 'imagefolder:<root>', ...). Default faces unless --image is given.")] = None,
    image: Annotated[Optional[list[Path]], typer.Option(help="An image file to explain instead of a dataset; repeat it for several.")] = None,
    split: Annotated[str, typer.Option(help="Dataset split.")] = "test",
    n: Annotated[Optional[int], typer.Option(help=f"Explain the first N items (default {DEFAULT_EXPLAIN_N} unless --ids).")] = None,
    ids: Annotated[Optional[list[str]], typer.Option(help="Item ids to explain (comma-separated or repeated).")] = None,
    mode: Annotated[str, typer.Option(help="conditional: the projector's label is the hint (TinyEmo's conditional reasoning); free: the MM-LLM names the label itself.")] = "conditional",
    json_output: Annotated[bool, typer.Option("--json", help="Print a JSON list of objects (id, projector_label, projector_probability, mode, hint, reasoning, stated_label, n_tokens, seconds, true_label).")] = False,
    max_new_tokens: Annotated[Optional[int], typer.Option(help="Generation limit per answer (default: the bundle's).")] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Images generated together (default: the bundle's).")] = None,
    trust_remote_code: Annotated[bool, typer.Option("--trust-remote-code", help="Allow an llm: base's own code to run (off unless asked).")] = False,
    device: Annotated[Optional[str], typer.Option(help=DEVICE_HELP)] = None,
) -> None:
    """Explain emotions in words: the projector classifies, the bundle's MM-LLM writes the reasoning.

    Greedy decoding (deterministic), batched generation with the KV cache, a progress bar on stderr.
    """
    from ..devices import use_device
    from ..model.bundle import load_bundle
    from ..reasoning.explain import explain_dataset, explain_files
    from ..reasoning.settings import check_mode

    check_mode(mode)
    if image and (dataset or ids or n is not None):
        raise UsageError("give either --image or --dataset (with --n/--ids), not both")
    with use_device(device):  # resolved before the bundle is read
        bundle = load_bundle(model)
        bundle.reasoning  # noqa: B018 - a bundle without a reasoning part fails here, before any work
        options = {"settings": _settings(bundle, max_new_tokens, batch_size), "progress": True,
                   "trust_remote_code": trust_remote_code}
        if image:
            records = explain_files(bundle, list(image), mode=mode, **options)
        else:
            picked = _split_ids(ids)
            count = n if n is not None or picked else DEFAULT_EXPLAIN_N
            records = explain_dataset(bundle, dataset or "faces", split=split, n=count, ids=picked, mode=mode,
                                      **options)
    if json_output:
        typer.echo(json.dumps([r.to_dict() for r in records], ensure_ascii=False))
    else:
        typer.echo(_text(records))


def reasoning_eval(models: list[str], datasets: list[str], split: str, n: int | None, json_output: bool) -> None:
    """``eval --reasoning``: one bundle, one dataset; prints the metrics (JSON or lines)."""
    from ..model.bundle import load_bundle
    from ..reasoning.evaluate import DEFAULT_N, evaluate_reasoning

    if len(models) != 1 or len(datasets) != 1:
        raise UsageError("eval --reasoning takes one --model and one --dataset")
    if n is not None and n < 1:
        raise UsageError(f"--n must be at least 1, got {n}")
    bundle = load_bundle(models[0])
    bundle.reasoning  # noqa: B018 - a bundle without a reasoning part fails here, before any work
    result = evaluate_reasoning(bundle, datasets[0], split=split, n=n or DEFAULT_N)
    if json_output:
        typer.echo(json.dumps(result))
        return
    for key, value in result.items():
        if not isinstance(value, dict):
            typer.echo(f"{key}: {value:.4f}" if isinstance(value, float) else f"{key}: {value}")
