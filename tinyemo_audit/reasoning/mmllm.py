"""The MM-LLM: encoder features → two-layer GELU connector → visual tokens in a causal LM's input space.

TinyLLaVA's recipe at CPU scale. The connector maps one pooled feature vector to ``visual_tokens``
embeddings of the language model's width; they stand where ``<image>`` is in the user turn. Every
batch is laid out the same way for training, scoring and generation: the prompt (system, user turn
with the visual tokens, assistant header) left-padded to one length, then the answer right-padded,
so all answers start at the same position and only their logits are computed
(``logits_to_keep``). Generation is ``transformers``' ``generate`` (KV cache, greedy by default).

The model runs on one torch device (:meth:`ReasoningModel.to`; the commands move it to their
``--device``, :func:`tinyemo_audit.devices.current_device`): its inputs are built on the CPU and
moved there, its outputs come back to the CPU. The weights keep their dtype on every device.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError
from . import generation_cache
from .parse import stated_label
from .settings import GenerationSettings
from .templates import IMAGE_PLACEHOLDER, compose_prompt

if TYPE_CHECKING:
    import torch

IGNORE_INDEX = -100


def build_connector(d_in: int, d_llm: int, visual_tokens: int):
    """The connector: Linear(d_in→d_llm) → GELU → Linear(d_llm→visual_tokens·d_llm), reshaped to tokens."""
    import torch
    from torch import nn

    class Connector(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.d_in, self.d_llm, self.visual_tokens = d_in, d_llm, visual_tokens
            self.proj = nn.Sequential(nn.Linear(d_in, d_llm), nn.GELU(), nn.Linear(d_llm, d_llm * visual_tokens))

        def forward(self, features: torch.Tensor) -> torch.Tensor:
            """``features`` float [B, d_in] → visual tokens [B, visual_tokens, d_llm]."""
            return self.proj(features).view(features.shape[0], self.visual_tokens, self.d_llm)

    return Connector()


@dataclass(frozen=True)
class PromptFormat:
    """The conversation around the visual tokens (the templates a reasoning part keeps)."""

    system: str
    plain_chat: str
    prompt: str
    hint: str
    answer: str

    def user_turn(self, hint_label: str | None) -> str:
        """The canonical user turn, with the hint when a label is given (conditional mode)."""
        return compose_prompt(self.prompt, self.hint, hint_label)

    def chat_text(self, tokenizer, user: str) -> str:
        """The whole prompt text up to the assistant's answer (the tokenizer's chat template if any)."""
        if IMAGE_PLACEHOLDER not in user:
            user = f"{IMAGE_PLACEHOLDER}\n{user}"
        if getattr(tokenizer, "chat_template", None):
            messages = [{"role": "system", "content": self.system}, {"role": "user", "content": user}]
            return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return self.plain_chat.format(system=self.system, prompt=user)


@dataclass
class Generation:
    """One generated answer: the text, the label it states (None if none parses), its token count."""

    text: str
    stated_label: str | None
    n_tokens: int
    seconds: float


class ReasoningModel:
    """A base LLM (optionally with LoRA adapters), a connector and the prompt format.

    Parameters
    ----------
    llm : transformers model
        The causal LM (a ``peft`` model once adapters are attached).
    tokenizer
        Its tokenizer.
    connector : torch.nn.Module
        From :func:`build_connector`.
    prompt_format : PromptFormat
    classes : tuple of str
        The labels a stated label is parsed against.
    generation : GenerationSettings
        Defaults for :meth:`generate`.
    """

    def __init__(self, llm, tokenizer, connector, prompt_format: PromptFormat, classes: tuple[str, ...],
                 generation: GenerationSettings = GenerationSettings()) -> None:
        self.llm = llm
        self.tokenizer = tokenizer
        self.connector = connector
        self.format = prompt_format
        self.classes = tuple(classes)
        self.generation = generation
        self._prompt_ids: dict[str, tuple[list[int], list[int]]] = {}
        # The reasoning part's identity (generation_cache.part_identity), set when loaded from a bundle:
        # without one, generate never reads or keeps batches.
        self.identity: str | None = None

    @property
    def device(self):
        """The torch device the connector (and the LLM with it) is on."""
        return next(self.connector.parameters()).device

    def to(self, device) -> ReasoningModel:
        """Move the LLM (adapters included) and the connector to ``device``; returns self."""
        import torch

        device = torch.device(device)
        if self.device != device:
            self.llm.to(device)
            self.connector.to(device)
        return self

    @property
    def eos_id(self) -> int:
        return int(self.tokenizer.eos_token_id)

    @property
    def pad_id(self) -> int:
        pad = self.tokenizer.pad_token_id
        return int(pad if pad is not None else self.eos_id)

    def prompt_ids(self, user: str) -> tuple[list[int], list[int]]:
        """Token ids before and after the visual tokens for one user turn (cached: prompts repeat)."""
        if user not in self._prompt_ids:
            text = self.format.chat_text(self.tokenizer, user)
            before, after = text.split(IMAGE_PLACEHOLDER, 1)
            encode = self.tokenizer
            self._prompt_ids[user] = (
                encode(before, add_special_tokens=False)["input_ids"],
                encode(after, add_special_tokens=False)["input_ids"],
            )
        return self._prompt_ids[user]

    def answer_ids(self, answers: list[str]) -> list[list[int]]:
        """Token ids of answers, each ending with the end-of-turn token the model must learn to emit."""
        encoded = self.tokenizer(list(answers), add_special_tokens=False)["input_ids"]
        return [ids + [self.eos_id] for ids in encoded]

    def _features(self, features) -> torch.Tensor:
        import torch

        x = torch.from_numpy(np.array(features, dtype=np.float32))  # a copy: cached features are read-only
        if x.ndim != 2 or x.shape[1] != self.connector.d_in:
            raise InputError(f"the reasoning connector expects features of dimension {self.connector.d_in}, "
                             f"got shape {tuple(x.shape)}")
        return x.to(self.device)

    def batch(self, features, users: list[str], answers: list[list[int]] | None = None) -> dict[str, Any]:
        """Model inputs for a batch: ``inputs_embeds``, ``attention_mask``, ``position_ids`` (+ answer ids).

        The prompt part is left-padded to one length, the answer part (if any) right-padded.
        """
        import torch

        visual = self.connector(self._features(features))  # [B, k, D]
        b, k, _ = visual.shape
        parts = [self.prompt_ids(u) for u in users]
        lengths = [len(before) + k + len(after) for before, after in parts]
        p = max(lengths)
        ids = torch.full((b, p), self.pad_id, dtype=torch.long)
        mask = torch.zeros((b, p), dtype=torch.long)
        slots = torch.zeros((b, p), dtype=torch.bool)
        for row, ((before, after), length) in enumerate(zip(parts, lengths)):
            start = p - length
            ids[row, start:start + len(before)] = torch.tensor(before, dtype=torch.long)
            slots[row, start + len(before):start + len(before) + k] = True
            ids[row, start + len(before) + k:] = torch.tensor(after, dtype=torch.long)
            mask[row, start:] = 1
        ids, mask, slots = ids.to(visual.device), mask.to(visual.device), slots.to(visual.device)
        embed = self.llm.get_input_embeddings()
        embeds = embed(ids)
        embeds = embeds.masked_scatter(slots.unsqueeze(-1), visual.to(embeds.dtype))
        out: dict[str, Any] = {}
        if answers is not None:
            a = max(len(x) for x in answers)
            answer = torch.full((b, a), IGNORE_INDEX, dtype=torch.long)
            for row, x in enumerate(answers):
                answer[row, :len(x)] = torch.tensor(x, dtype=torch.long)
            answer = answer.to(visual.device)
            answer_mask = (answer != IGNORE_INDEX).long()
            embeds = torch.cat([embeds, embed(answer.clamp(min=0))], dim=1)
            mask = torch.cat([mask, answer_mask], dim=1)
            out["answer"] = answer
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        out.update(inputs_embeds=embeds, attention_mask=mask, position_ids=positions)
        return out

    def _answer_logits(self, features, users: list[str], answers: list[list[int]]):
        """(float32 logits predicting each answer token [B, A, V], the padded answer ids [B, A])."""
        inputs = self.batch(features, users, answers)
        answer = inputs.pop("answer")
        a = answer.shape[1]
        return self.llm(**inputs, logits_to_keep=a + 1).logits[:, :a].float(), answer

    def answer_log_probs(self, features, users: list[str], answers: list[list[int]]) -> torch.Tensor:
        """Per-token log-probabilities of ``answers`` (teacher forcing), float [B, A]; 0 at padding."""
        import torch

        logits, answer = self._answer_logits(features, users, answers)
        log_probs = torch.log_softmax(logits, dim=-1)
        picked = log_probs.gather(-1, answer.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        return picked * (answer != IGNORE_INDEX)

    def loss(self, features, users: list[str], answers: list[list[int]]) -> torch.Tensor:
        """Mean next-token cross-entropy over the answer tokens of a batch."""
        import torch

        logits, answer = self._answer_logits(features, users, answers)
        return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), answer.reshape(-1),
                                                 ignore_index=IGNORE_INDEX)

    def score(self, features, hints: list[str | None], continuations: list[str]) -> np.ndarray:
        """Log-likelihood the model gives each continuation of its answer (sum over tokens), float64 [N].

        Deterministic and far more sensitive than generated text: the reasoning audit can compare
        how likely a wording is for two counterfactual twins even where greedy decoding writes
        the same words for both.
        """
        import torch

        users = [self.format.user_turn(h) for h in hints]
        with torch.inference_mode():
            values = self.answer_log_probs(features, users, self.tokenizer(list(continuations),
                                           add_special_tokens=False)["input_ids"])
        return values.sum(dim=1).double().cpu().numpy()

    def generate(self, features, hints: list[str | None], settings: GenerationSettings | None = None,
                 *, progress: bool = False, desc: str = "generating reasoning", cache: bool = False) -> list[Generation]:
        """Answers for N images: batched ``generate`` with the KV cache (greedy unless settings sample).

        Parameters
        ----------
        features : array-like, float [N, d_in]
            Encoder features of the images.
        hints : list of (str or None)
            Per image, the label given as the hint (conditional mode) or None (free mode).
        settings : GenerationSettings, optional
            Defaults to the reasoning part's own.
        progress : bool
            Show a tqdm bar (items) on stderr.
        cache : bool
            Read each batch's texts from :mod:`.generation_cache` when kept, and keep those generated
            (greedy decoding of a model loaded from a bundle only).

        Returns
        -------
        list of Generation
            ``seconds`` is each item's share of its batch's wall time (as generated, for a kept batch).
        """
        import sys

        import torch
        from tqdm.auto import tqdm

        settings = settings or self.generation
        features = np.asarray(features, dtype=np.float32)
        if len(features) != len(hints):
            raise InputError(f"{len(features)} feature rows but {len(hints)} hints")
        self.llm.eval()
        self.connector.eval()
        out: list[Generation] = []
        bar = tqdm(total=len(features), desc=desc, unit="image", file=sys.stderr, disable=not progress, leave=False)
        options: dict[str, Any] = {"max_new_tokens": settings.max_new_tokens, "do_sample": settings.do_sample,
                                   "pad_token_id": self.pad_id, "eos_token_id": self.eos_id}
        if settings.do_sample:
            options.update(temperature=settings.temperature, top_p=settings.top_p)
            torch.manual_seed(settings.seed)
        else:  # a model's generation_config may ask for sampling: greedy means greedy
            options.update(temperature=None, top_p=None, top_k=None)
        keep = cache and not settings.do_sample and self.identity is not None
        with torch.inference_mode():
            for start in range(0, len(features), settings.batch_size):
                stop = min(start + settings.batch_size, len(features))
                users = [self.format.user_turn(h) for h in hints[start:stop]]
                key = (generation_cache.batch_key(self.identity, self.device.type, features[start:stop], users, options)
                       if keep else None)
                rows = generation_cache.read_batch(key, stop - start) if keep else None
                if rows is None:
                    rows = self._generate_batch(features[start:stop], users, options)
                    if keep:
                        generation_cache.write_batch(key, rows)
                out.extend(Generation(text, stated_label(text, self.classes, self.format.answer), n, seconds)
                           for text, n, seconds in rows)
                bar.update(stop - start)
        bar.close()
        return out

    def _generate_batch(self, features: np.ndarray, users: list[str], options: dict[str, Any]) -> list[tuple[str, int, float]]:
        """(text, n_tokens, seconds) of one batch, generated: ``seconds`` is each item's share of the batch's time."""
        began = time.perf_counter()
        inputs = self.batch(features, users)
        inputs.pop("position_ids")  # generate derives them from the attention mask
        tokens = self.llm.generate(**inputs, **options)
        seconds = (time.perf_counter() - began) / len(users)
        rows = []
        for row in tokens.tolist():
            n = row.index(self.eos_id) + 1 if self.eos_id in row else len(row)
            rows.append((self.tokenizer.decode(row[:n], skip_special_tokens=True).strip(), n, seconds))
        return rows
