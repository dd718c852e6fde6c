"""Label-space names (``smollm2-135m``, ``minilm``, ``llm:<id-or-path>``) and their resolver."""

from __future__ import annotations

from ..errors import UsageError
from ..registry import Registry
from .base import LabelSpace, torch_dtype


def _smollm2(*, trust_remote_code: bool, tokenizer: str | None, bos: bool, dtype: str) -> LabelSpace:
    from .smollm2 import NAME, load_smollm2

    if tokenizer is not None:
        raise UsageError(f"{NAME} has its own tokenizer; tokenizer= applies to llm:<...> only")
    return load_smollm2(bos=bos, dtype=dtype)


def _minilm(*, trust_remote_code: bool, tokenizer: str | None, bos: bool, dtype: str) -> LabelSpace:
    from .minilm import NAME, load_minilm

    if tokenizer is not None or bos:
        raise UsageError(f"{NAME} is a sentence encoder; tokenizer= and bos= apply to LLM spaces only")
    if dtype != "float32":
        raise UsageError(f"{NAME} runs in float32 only")
    return load_minilm()


def _llm(ref: str, *, trust_remote_code: bool, tokenizer: str | None, bos: bool, dtype: str) -> LabelSpace:
    from .llm import load_llm

    return load_llm(ref, trust_remote_code=trust_remote_code, tokenizer=tokenizer, bos=bos, dtype=dtype)


LABEL_SPACES: Registry[LabelSpace] = Registry("label space")
LABEL_SPACES.add("smollm2-135m", _smollm2)
LABEL_SPACES.add("minilm", _minilm)
LABEL_SPACES.add_scheme("llm", _llm)


def list_label_spaces() -> list[str]:
    """Valid label-space specs (names, then ``scheme:<...>`` forms)."""
    return LABEL_SPACES.choices()


def resolve_label_space(
    spec: str,
    *,
    trust_remote_code: bool = False,
    tokenizer: str | None = None,
    bos: bool = False,
    dtype: str = "float32",
) -> LabelSpace:
    """Build the label space named by ``spec``.

    Parameters
    ----------
    spec : str
        ``"smollm2-135m"`` (default, offline GGUF), ``"minilm"`` or ``"llm:<hf-id-or-path>"``.
    trust_remote_code : bool
        For ``llm:`` only; forwarded to transformers only when True.
    tokenizer : str, optional
        For ``llm:`` only: a tokenizer folder or id overriding the model's own.
    bos : bool
        For LLM spaces: add the BOS embedding to each label mean (TinyEmo did).
    dtype : {"float32", "float16", "bfloat16"}
        In-memory dtype of an LLM table.

    Raises
    ------
    UnknownNameError
        For an unknown spec; the message lists the valid choices.
    WeightsUnavailableError
        If the weights are not on this machine.

    Examples
    --------
    >>> space = resolve_label_space("smollm2-135m")  # doctest: +SKIP
    >>> space.dim  # doctest: +SKIP
    576
    """
    if not isinstance(spec, str):
        raise UsageError(f"label-space spec must be a string, got {type(spec).__name__}")
    torch_dtype(dtype)
    return LABEL_SPACES.resolve(
        spec, trust_remote_code=bool(trust_remote_code), tokenizer=tokenizer, bos=bool(bos), dtype=dtype
    )
