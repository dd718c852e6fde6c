"""``train-reasoning``: TinyLLaVA's two stages on instruct data, written as a bundle's ``reasoning/`` part.

Stage 1 trains the connector alone on the pre-training rows (the language model frozen); stage 2
trains the connector and LoRA adapters (``peft``) on the EmoReason rows. Encoder features are
computed once; every step is one batch of answers under teacher forcing with AdamW and
transformers' cosine schedule with warm-up. Each random choice takes the config's seed.
"""

from __future__ import annotations

import os
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..devices import current_device
from ..errors import InputError
from ..user_text import shown
from ..schema.reasoning import REASONING_FORMAT, REASONING_VERSION
from .settings import GenerationSettings, ReasoningTrainConfig


def _batches(n: int, batch_size: int, steps: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``steps`` batches of example indices, walking seeded permutations (epochs) of ``range(n)``."""
    need = steps * batch_size
    order = np.concatenate([rng.permutation(n) for _ in range(-(-need // n))]) if n else np.zeros(0, int)
    return [order[i * batch_size:(i + 1) * batch_size] for i in range(steps)]


def _fit(model, examples, features: np.ndarray, params: list, *, steps: int, lr: float, config: ReasoningTrainConfig,
         rng: np.random.Generator, name: str, progress: bool) -> dict[str, Any]:
    """Run one stage; returns its record (steps, seconds, losses)."""
    import sys

    import torch
    from tqdm.auto import tqdm
    from transformers import get_cosine_schedule_with_warmup

    if steps == 0 or not examples:
        return {"name": name, "steps": 0, "seconds": 0.0, "final_loss": None, "losses": []}
    answers = model.answer_ids([e.answer for e in examples])
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    schedule = get_cosine_schedule_with_warmup(optimizer, int(round(config.warmup_share * steps)), steps)
    losses: list[float] = []
    began = time.perf_counter()
    bar = tqdm(_batches(len(examples), config.batch_size, steps, rng), desc=f"train-reasoning {name}",
               unit="step", file=sys.stderr, disable=not progress, miniters=1)
    for index in bar:
        chosen = [examples[i] for i in index.tolist()]
        loss = model.loss(features[[e.image for e in chosen]], [e.prompt for e in chosen],
                          [answers[i] for i in index.tolist()])
        if not torch.isfinite(loss):
            raise InputError(f"train-reasoning {name}: the loss became {loss.item()}; lower the learning rate")
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(round(float(loss.detach()), 4))
        bar.set_postfix(loss=f"{losses[-1]:.3f}")
    tail = losses[-max(1, min(20, len(losses))):]
    return {"name": name, "steps": steps, "seconds": round(time.perf_counter() - began, 1),
            "final_loss": float(np.mean(tail)), "losses": losses}


def _on_cpu(state: dict[str, Any]) -> dict[str, Any]:
    """A state dict's tensors on the CPU (weights trained on a GPU are written from host memory)."""
    return {k: v.detach().cpu() for k, v in state.items()}


def _versions() -> dict[str, str]:
    import peft
    import torch
    import transformers

    return {"torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__}


def reasoning_plan(bundle_path: Path, data: str | Path, llm: str, config_file: str | Path | None = None):
    """The bundle folder as the output of ``train-reasoning`` (it gains a ``reasoning/`` part).

    The bundle is replaced whole, as one unit, and only when this tool wrote it and nobody changed
    it (:mod:`tinyemo_audit.outputs`); the instruct data, a local base LLM and the config are inputs
    it may not overlap.
    """
    from ..outputs import OutputPlan, model_spec_path

    plan = OutputPlan(cache=True)
    plan.folder(bundle_path, "--model")
    plan.input(data, "--data instruct data")
    plan.input(model_spec_path(llm), f"base LLM {llm}")
    plan.input(config_file, "reasoning config")
    return plan


def _copy_bundle(source: Path, target: Path) -> None:
    """Every file of the bundle ``source`` into the staged ``target``, but its reasoning part and manifest."""
    import shutil

    from ..outputs import MANIFEST_NAME
    from .part import PART_DIR

    for entry in sorted(source.iterdir()):
        if entry.name in (PART_DIR, MANIFEST_NAME):
            continue
        if entry.is_dir():
            shutil.copytree(entry, target / entry.name, symlinks=True)
        else:
            shutil.copy2(entry, target / entry.name, follow_symlinks=False)


def train_reasoning(model: str | Path, data: str | Path, config: ReasoningTrainConfig = ReasoningTrainConfig(),
                    *, progress: bool = True, config_file: str | Path | None = None) -> Path:
    """Train the MM-LLM on an instruct folder and add it to a bundle as ``reasoning/``.

    Parameters
    ----------
    model : str or Path
        Bundle name (in models/) or folder; its encoder gives the visual features.
    data : str or Path
        An instruct folder (``tinyemo-audit instruct build``).
    config : ReasoningTrainConfig
        Base LLM, visual tokens, steps, learning rates, LoRA settings, seed.
    progress : bool
        Progress bars on stderr.
    config_file : path, optional
        The config file ``config`` came from (an input the bundle may not overlap).

    Returns
    -------
    Path
        The bundle's ``reasoning/`` folder.

    Raises
    ------
    InputError
        Not instruct data, unreadable images, labels the bundle does not know, a damaged base.
    OutputError
        The bundle folder is not one this tool wrote, or was changed since (checked before any work).
    WeightsUnavailableError
        The base LLM is not on this machine.
    """
    import torch
    from peft import LoraConfig, get_peft_model, get_peft_model_state_dict

    from ..model.bundle import load_bundle
    from .base_llm import load_base
    from .features import encoder_image_size, image_features
    from .instruct_data import load_instruct_images, read_instruct
    from .mmllm import PromptFormat, ReasoningModel, build_connector
    from .model_card import update_model_card
    from .part import PART_DIR, encoder_record, write_part
    from .templates import inference_templates

    began = time.perf_counter()
    load_start = os.getloadavg()[0]
    bundle = load_bundle(model)
    outputs = reasoning_plan(bundle.path, data, config.llm, config_file)
    outputs.check()
    instruct = read_instruct(data)
    unknown = sorted(set(instruct.classes) - set(bundle.classes))
    if unknown:
        raise InputError(f"the instruct data's labels {shown(unknown)} are not among bundle {shown(bundle.name)}'s classes "
                         f"({', '.join(bundle.classes)}); build instruct data from the dataset the bundle classifies")
    torch.set_num_threads(config.threads)
    # A missing base fails before any work.
    base = load_base(config.llm, trust_remote_code=config.trust_remote_code, dtype=config.dtype)
    images = load_instruct_images(instruct, encoder_image_size(bundle.encoder))
    features = image_features(bundle, images, progress=progress)
    torch.manual_seed(config.seed)
    # Built on the CPU (its initial weights do not depend on the device), then moved to --device.
    connector = build_connector(features.shape[1], base.hidden_size, config.visual_tokens)
    templates = inference_templates()
    generation = GenerationSettings(max_new_tokens=config.max_new_tokens)
    mm = ReasoningModel(base.model, base.tokenizer, connector, PromptFormat(**templates), bundle.classes, generation)
    mm.to(current_device())
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, 0x7EA5]))

    base.model.eval()
    stage1 = _fit(mm, instruct.pretrain, features, list(connector.parameters()), steps=config.stage1_steps,
                  lr=config.stage1_lr, config=config, rng=rng, name="stage 1 (connector)", progress=progress)
    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=list(config.lora_targets), task_type="CAUSAL_LM")
    try:
        with warnings.catch_warnings():  # peft calls a transformers API that warns of its own rename
            warnings.simplefilter("ignore", FutureWarning)
            mm.llm = get_peft_model(base.model, lora)
    except ValueError as err:
        raise InputError(f"LoRA targets {shown(list(config.lora_targets))} do not fit base {shown(config.llm)} "
                         f"({' '.join(str(err).split())[:120]})") from None
    mm.llm.train()
    trainable = list(connector.parameters()) + [p for p in mm.llm.parameters() if p.requires_grad]
    stage2 = _fit(mm, instruct.finetune, features, trainable, steps=config.stage2_steps, lr=config.stage2_lr,
                  config=config, rng=rng, name="stage 2 (connector + LoRA)", progress=progress)
    mm.llm.eval()

    spec: dict[str, Any] = {
        "format": REASONING_FORMAT,
        "version": REASONING_VERSION,
        "base": {"spec": base.spec, "sha256": base.sha256, "source": base.source, "hidden_size": base.hidden_size,
                 "vocab_size": base.vocab_size, "trust_remote_code": base.trust_remote_code, "dtype": base.dtype},
        "encoder": encoder_record(bundle),
        "connector": {"d_in": int(features.shape[1]), "d_llm": base.hidden_size,
                      "visual_tokens": config.visual_tokens},
        "adapter": {"r": config.lora_r, "alpha": config.lora_alpha, "dropout": config.lora_dropout,
                    "targets": list(config.lora_targets)},
        "templates": templates,
        "generation": generation.to_dict(),
        "classes": list(bundle.classes),
        "training": {
            "config": config.to_dict(),
            "data": instruct.summary(),
            "stages": [stage1, stage2],
            "seconds": round(time.perf_counter() - began, 1),
            "load_average_start": round(load_start, 2),
            "load_average_end": round(os.getloadavg()[0], 2),
            "threads": torch.get_num_threads(),
            "versions": _versions(),
        },
    }
    with outputs.writing() as staged:
        workdir = staged.path(bundle.path)
        _copy_bundle(bundle.path, workdir)
        write_part(workdir, spec, _on_cpu(connector.state_dict()), _on_cpu(get_peft_model_state_dict(mm.llm)))
        update_model_card(workdir, spec)
    return bundle.path / PART_DIR
