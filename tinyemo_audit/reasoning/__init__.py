"""TinyEmo's reasoning half: synthetic instruct data, the MM-LLM (encoder → connector → SmolLM2 + LoRA), explain and eval.

Public API (heavy libraries are imported where used, so importing this package is cheap):

- :func:`build_instruct`, :func:`reference_reasoning`, :class:`AnnotatorBias`, :class:`InstructConfig`
- :func:`train_reasoning`, :class:`ReasoningTrainConfig`
- :func:`explain_images`, :func:`explain_twins`, :func:`explain_dataset`, :class:`Explanation`,
  :func:`reasoning_model` (the loaded MM-LLM, for scoring wordings with ``ReasoningModel.score``)
- :func:`evaluate_reasoning`, :func:`load_cue_vocabulary`, :func:`stated_label`
"""

from .cues import load_cue_vocabulary
from .evaluate import evaluate_reasoning
from .explain import Explanation, explain_dataset, explain_images, explain_twins, reasoning_model
from .instruct import build_instruct, reference_reasoning
from .parse import stated_label
from .settings import AnnotatorBias, GenerationSettings, InstructConfig, ReasoningTrainConfig
from .train import train_reasoning

__all__ = [
    "AnnotatorBias", "Explanation", "GenerationSettings", "InstructConfig", "ReasoningTrainConfig",
    "build_instruct", "evaluate_reasoning", "explain_dataset", "explain_images", "explain_twins",
    "load_cue_vocabulary", "reasoning_model", "reference_reasoning", "stated_label", "train_reasoning",
]
