"""Writes a bundle's MODEL_CARD.md from its bundle.json and measured metrics."""

from __future__ import annotations

from typing import Any

from ..user_text import visible


def _bias_lines(biases: list[dict[str, Any]]) -> list[str]:
    if not biases:
        return ["None: the training labels are the true expressions (clean labels)."]
    lines = [
        "These biases were planted **on purpose** in the training and validation labels, so that an",
        "audit has a known bias to find (the test split always carries the true labels):",
        "",
        "| attribute | value | true label | annotated as | share relabelled |",
        "|---|---|---|---|---|",
    ]
    for b in biases:
        lines.append(
            f"| {b['attribute']} | {b['value']} | {b['from_label']} | {b['to_label']} | {b['rate']:.0%} |"
        )
    lines += [
        "",
        "Expected effect: faces of that group with the true label drift toward the annotated label in",
        "the projected space (directional similarity shift, higher false-positive rate of the target",
        "label for that group). `tinyemo-audit run --dataset faces` must find each of them.",
    ]
    return lines


def _dataset_lines(train: dict[str, Any], per_dataset: dict[str, Any]) -> list[str]:
    """The training datasets, one table row each (accuracy over each dataset's own taxonomy)."""
    records = train.get("datasets") or []
    if not records:  # bundles written before joint training record only the config's dataset
        return [f"- Data: `{train['config'].get('dataset')}`, splits n = {train['n']}"]
    lines = []
    if train.get("joint"):
        lines += ["- Joint training: one label vocabulary, the union of the datasets' class names (a name",
                  "  shared by two taxonomies is one label); test accuracy is over each dataset's own taxonomy.", ""]
    lines += ["| dataset | taxonomy | classes | n train / val / test | test accuracy |", "|---|---|---|---|---|"]
    for r in records:
        n, acc = r["n"], (per_dataset.get(r["spec"]) or {}).get("test_accuracy")
        lines.append(f"| `{r['spec']}` | {r['taxonomy'] or 'own'} | {len(r['classes'])} | "
                     f"{n['train']} / {n['val']} / {n['test']} | {'n/a' if acc is None else f'{acc:.4f}'} |")
    return lines + [""]


def model_card(spec: dict[str, Any], metrics: dict[str, Any]) -> str:
    """Markdown model card for a bundle."""
    train = spec["training"]
    cfg = train["config"]
    classes = spec["taxonomy"]["classes"]
    lines = [
        f"# Model card: {spec['name']}",
        "",
        spec.get("description") or "A TinyEmo-style emotion classifier trained with tinyemo-audit.",
        "",
        "## Architecture",
        f"- Vision encoder: `{spec['encoder']['spec']}` ({spec['encoder']['dim']}-d features, frozen when the projector trains)",
        f"- Metric Projector: Linear({spec['projector']['d_in']}→{spec['projector']['d_out']}) → BatchNorm1d → GELU → "
        f"Dropout({spec['projector']['dropout']}) → Linear({spec['projector']['d_out']}→{spec['projector']['d_out']})",
        f"- Label space: `{spec['label_space']['spec']}` input-token embeddings ({spec['label_space']['dim']}-d), "
        f"template `{spec['label_space']['template']}`, mean-pooled and L2-normalised",
        f"- Loss: {spec['loss']['name']} (temperature {spec['loss']['temperature']})",
        f"- Classes ({len(classes)}): {', '.join(classes)}",
        "",
        "## Training",
        *_dataset_lines(train, spec.get("metrics", {}).get("per_dataset") or {}),
        f"- AdamW + OneCycle (max lr {cfg['max_lr']}), batch {cfg['batch_size']}, {cfg['epochs']} epochs, seed {cfg['seed']}",
        f"- Checkpoint: epoch {train['selected_epoch']} — {train['selection']}",
        "",
        "## Annotation biases in the training labels",
        *_bias_lines(train.get("annotation_biases") or []),
        "",
        "## Evaluation (true labels)",
        "| split | accuracy | n |",
        "|---|---|---|",
    ]
    for split in ("val", "test"):
        m = metrics[split]
        lines.append(f"| {split} | {m['accuracy']:.4f} | {m['n']} |")
    lines += ["", "Per-class test accuracy:", "", "| class | accuracy |", "|---|---|"]
    for cls, value in metrics["test"]["per_class"].items():
        lines.append(f"| {cls} | {'n/a' if value is None else f'{value:.4f}'} |")
    lines += [
        "",
        "## Intended use and limits",
        "- A reference model for demonstrating and testing bias audits, not for judging real people.",
        "- Trained on procedural faces; it says nothing about photographs.",
        "- Reproduce: `make models` (same seed, same metrics).",
        "",
    ]
    return visible("\n".join(lines))  # names, specs and classes come from the user
