"""Generated reasoning under the report's example faces: each example image explained by the bundle's MM-LLM.

The audit's examples (twin pairs, misclassified cluster members, disparity examples) carry their
pixels under a private key while the findings are built. When the bundle has a reasoning part and
the ``example_reasoning`` setting is on, every distinct example image is explained in conditional
mode (the hint is the label the classifier gave that image, TinyEmo's conditional reasoning) and
the generated text goes into the example as ``reasoning``. The private pixels are always removed,
so results.json never carries them. A bundle without a reasoning part never imports the language
model: ``run`` costs what it cost before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..audit._examples import ATTRIBUTES_KEY, PIXELS_KEY

MAX_EXAMPLE_IMAGES = 48  # bounds the added time of `run` (generation is the slow part on a CPU)
MODE = "conditional"


def _examples(findings: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [e for f in findings for e in f.get("examples") or [] if isinstance(e, dict)]


def attach_example_reasoning(findings: list[dict[str, Any]], bundle, *, enabled: bool,
                             progress: bool = False) -> dict[str, Any] | None:
    """Add ``reasoning`` (the MM-LLM's conditional explanation) to every example with pixels, in place.

    Parameters
    ----------
    findings : list of dict
        Findings whose ``examples`` may carry pixels under :data:`PIXELS_KEY` (always removed here).
    bundle : Bundle or None
        The audited bundle; None (a predictions file) or one without a reasoning part adds nothing.
    enabled : bool
        The ``example_reasoning`` audit setting.
    progress : bool
        Progress bar on stderr.

    Returns
    -------
    dict or None
        What was done (for ``run.example_reasoning``): mode, images explained, the cap (no time: the
        same seed writes the same results.json; the stage's time is in the run's timings); None when
        nothing was to be generated; ``skipped`` (the one-line reason) when the part or its base
        model cannot be loaded here, in which case the examples get no reasoning and the audit goes on.
    """
    examples = _examples(findings)
    pixels = [e.pop(PIXELS_KEY, None) for e in examples]
    groups = [e.pop(ATTRIBUTES_KEY, None) for e in examples]
    if not enabled or bundle is None or not bundle.has_reasoning:
        return None
    # One generation per distinct image and hint (an image can illustrate several findings), first seen first.
    chosen: dict[str, tuple[np.ndarray, str, dict]] = {}
    wanted: list[tuple[dict[str, Any], str]] = []
    for example, image, group in zip(examples, pixels, groups):
        hint = example.get("predicted_label")
        if image is None or hint not in bundle.reasoning.classes:
            continue
        key = f"{example.get('id')}\x00{hint}"
        if key not in chosen and len(chosen) < MAX_EXAMPLE_IMAGES:
            chosen[key] = (np.asarray(image), hint, group or {})
        if key in chosen:
            wanted.append((example, key))
    if not chosen:
        return None
    from ..errors import TinyEmoAuditError
    from ..user_text import shown
    from .explain import explain_images, reasoning_model

    try:  # an audit never fails for its decoration: a base that is not installed or a damaged part is a note
        reasoning_model(bundle)
    except TinyEmoAuditError as err:
        return {"mode": MODE, "n_images": 0, "skipped": shown(str(err), limit=300)}
    text: dict[str, str] = {}
    by_shape: dict[tuple[int, ...], list[str]] = {}
    for key, (image, _, _) in chosen.items():  # twin renders and dataset items need not share a size
        by_shape.setdefault(image.shape, []).append(key)
    for keys in by_shape.values():
        images = np.stack([chosen[k][0] for k in keys])
        # the images' protected groups: a mitigated bundle's steps read them for the projector's label
        attributes = pd.DataFrame([chosen[k][2] for k in keys])
        records = explain_images(bundle, images, keys, mode=MODE, hints=[chosen[k][1] for k in keys],
                                 attributes=attributes, progress=progress, cache=True)  # kept batches (exact)
        text.update((k, r.reasoning) for k, r in zip(keys, records))
    for example, key in wanted:
        example["reasoning"] = text[key]
    return {"mode": MODE, "n_images": len(chosen), "max_images": MAX_EXAMPLE_IMAGES}
