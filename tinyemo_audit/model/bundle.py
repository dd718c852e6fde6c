"""Model bundles: a folder with bundle.json, safetensors weights, MODEL_CARD.md and metrics.json."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from .._io import resolve_replaced
from ..errors import InputError, UnknownNameError
from ..input_files import MiB, shown_path
from ..paths import models_dir
from ..user_text import shown

BUNDLE_FORMAT = "tinyemo-audit-bundle"
BUNDLE_VERSION = 1
BUNDLE_FILE = "bundle.json"
PROJECTOR_FILE = "projector.safetensors"
ENCODER_FILE = "encoder.safetensors"
LABELS_FILE = "label_embeddings.safetensors"
MAX_BUNDLE_JSON_BYTES = 16 * MiB  # bundle.json holds specs, the training record and metrics: kilobytes


def list_bundles() -> list[str]:
    """Names of the bundles in the models folder."""
    root = models_dir()
    if not root.is_dir():
        return []
    # Other dot-names are an atomic write's scratch folders, never bundles to offer.
    names = {p.name for p in root.iterdir() if not p.name.startswith(".") and (p / BUNDLE_FILE).is_file()}
    # A replacement killed between atomic_directory's two renames leaves only the backup copy.
    names |= {p.name[1:-len(".old")] for p in root.glob(".*.old") if (p / BUNDLE_FILE).is_file()}
    return sorted(names)


def resolve_bundle_path(name_or_path: str | Path) -> Path:
    """A bundle folder from a name in models/ or a path; unknown → error listing the bundles.

    When a replacement of the bundle was killed between its two renames, the complete previous
    version (kept under the writer's backup name) is returned.
    """
    path = Path(name_or_path)
    named = models_dir() / str(name_or_path)
    for candidate in (path, named):
        found = resolve_replaced(candidate / BUNDLE_FILE)
        if found.is_file():
            return found.parent
    if path.exists():
        raise InputError(f"{path} is not a model bundle (no {BUNDLE_FILE})")
    raise UnknownNameError("model", str(name_or_path), list_bundles() + ["<bundle folder>"])


@dataclass
class Bundle:
    """A loaded bundle. Weights load lazily; ``spec`` is the parsed bundle.json."""

    path: Path
    spec: dict[str, Any]
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.spec.get("name") or self.path.name

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.spec["taxonomy"]["classes"])

    @property
    def temperature(self) -> float:
        return float(self._field("loss", "temperature"))

    def _field(self, section: str, key: str) -> Any:
        # load_bundle checks the types of the fields present (schema.bundle); these are the ones only
        # some uses need.
        if key not in self.spec[section]:
            raise InputError(f"{self.path / BUNDLE_FILE} lacks the key {section}.{key}")
        return self.spec[section][key]

    @cached_property
    def projector(self):
        from .projector import load_projector

        projector = load_projector(self.path / PROJECTOR_FILE)
        projector.eval()
        return projector

    @cached_property
    def label_embeddings(self):
        """[K, D] L2-normalised embeddings of ``classes`` as trained (stored in the bundle).

        Raises
        ------
        InputError
            When the file is unreadable or its table is not a finite float ``[K, d_out]``.
        """
        import torch
        from safetensors.torch import load_file

        path = self.path / LABELS_FILE
        try:
            table = load_file(str(path))["label_embeddings"]
        except Exception as err:  # noqa: BLE001 - safetensors raises several types for a damaged file
            text = str(err).strip().splitlines()
            raise InputError(f"cannot read {path}: {text[0] if text else type(err).__name__}") from None
        projector = self.spec.get("projector")
        d_out = projector.get("d_out") if isinstance(projector, dict) else None
        width = d_out if isinstance(d_out, int) else (int(table.shape[-1]) if table.ndim else -1)
        expected = (len(self.classes), width)
        if not table.is_floating_point() or tuple(table.shape) != expected:
            raise InputError(f"{path} holds {table.dtype} {tuple(table.shape)}, expected a float table {expected}")
        if not bool(torch.isfinite(table).all()):
            raise InputError(f"{path} contains NaN or infinite values")
        return table

    def step_tensors(self, name: str) -> dict[str, Any]:
        """The float64 numpy tensors of a preprocessing step's safetensors file (``name`` inside the bundle).

        Raises
        ------
        InputError
            When the name leaves the bundle folder, the file is not a regular file (a FIFO
            would block the reader), is unreadable, or holds a non-finite or non-float tensor.
        """
        if name not in self._cache.setdefault("steps", {}):
            import numpy as np
            from safetensors.numpy import load_file

            from ..input_files import is_inside, regular_file

            path = self.path / name
            if not is_inside(path, self.path):
                raise InputError(f"{self.path / BUNDLE_FILE}: step weights {shown(name)} lie outside the bundle")
            regular_file(path, what="step weights")  # safetensors would block opening a FIFO
            try:
                tensors = load_file(str(path))
            except Exception as err:  # noqa: BLE001 - safetensors raises several types for a damaged file
                text = str(err).strip().splitlines()
                raise InputError(f"cannot read {path}: {text[0] if text else type(err).__name__}") from None
            for key, value in tensors.items():
                if value.dtype.kind != "f" or not np.isfinite(value).all():
                    raise InputError(f"{path}: tensor {shown(key)} is not a finite float tensor")
            self._cache["steps"][name] = {k: v.astype(np.float64) for k, v in tensors.items()}
        return self._cache["steps"][name]

    @property
    def has_reasoning(self) -> bool:
        """Whether the bundle has a ``reasoning/`` part (an MM-LLM that explains its labels)."""
        from ..reasoning.part import has_part

        return has_part(self.path)

    @cached_property
    def reasoning(self):
        """The checked ``reasoning/`` part (read on first use; bundles without one never read it)."""
        from ..reasoning.part import read_part

        return read_part(self.path, self.name)

    @cached_property
    def encoder(self):
        """The vision encoder (only needed for datasets of images)."""
        from ..encoders import resolve_encoder

        enc = self.spec["encoder"]
        weights = self.path / enc["weights"] if enc.get("weights") else None
        return resolve_encoder(self._field("encoder", "spec"), weights=weights)

    def label_space(self):
        """The bundle's label space (loaded once per Bundle: audits and zero-shot eval reuse it)."""
        if "label_space" not in self._cache:
            self._cache["label_space"] = self._load_label_space()
        return self._cache["label_space"]

    def _load_label_space(self):
        from ..label_space import resolve_label_space

        ls = self.spec["label_space"]
        return resolve_label_space(
            self._field("label_space", "spec"), bos=ls.get("bos", False), tokenizer=ls.get("tokenizer"), dtype=ls.get("dtype", "float32"),
            trust_remote_code=ls.get("trust_remote_code", False),
        )

    def embed_classes(self, classes: tuple[str, ...] | list[str]):
        """Label embeddings (torch float32 ``[K, D]``) of ``classes`` as candidates for this bundle.

        The one place candidates are built: the audit (``classifier.classify``) and ``eval`` both
        call it, so they classify identically. Classes the bundle was trained on keep their stored
        rows (a joint bundle on one of its datasets uses exactly the embeddings it was trained
        against, in the order asked). Any other class set (a zero-shot taxonomy) is embedded by the
        bundle's label space with its template, and with the matching shipped taxonomy's synonyms
        when the bundle was trained with synonyms.

        Parameters
        ----------
        classes : sequence of str
            Candidate label names, in the order the rows are wanted.

        Returns
        -------
        torch.Tensor
            ``[len(classes), d_out]``, L2-normalised rows.
        """
        classes = tuple(classes)
        stored = self.classes
        if set(classes) <= set(stored):
            rows = [stored.index(name) for name in classes]
            return self.label_embeddings[rows].float()
        from ..label_space import label_embeddings
        from .joint import match_taxonomy

        ls = self.spec["label_space"]
        synonyms = None
        if ls.get("synonyms"):
            from ..taxonomy import get_taxonomy

            name = match_taxonomy(classes)
            synonyms = get_taxonomy(name).synonyms if name else None
        table = label_embeddings(self.label_space(), classes, template=ls.get("template", "{label}"),
                                 synonyms=synonyms)
        return table.float()


def load_bundle(name_or_path: str | Path) -> Bundle:
    """Load a bundle by name (models/<name>) or folder. Never unpickles anything.

    bundle.json is read as strict, bounded JSON (:mod:`tinyemo_audit._json`) and checked against
    :class:`tinyemo_audit.schema.bundle.BundleFile`; any problem is one InputError line naming
    the file and the key.
    """
    from .._json import read_json
    from ..schema._errors import validate
    from ..schema.bundle import BundleFile

    path = resolve_bundle_path(name_or_path)
    file = path / BUNDLE_FILE
    spec = read_json(file, what="bundle file", max_bytes=MAX_BUNDLE_JSON_BYTES)
    if not isinstance(spec, dict) or spec.get("format") != BUNDLE_FORMAT:
        raise InputError(f"{shown_path(file)} is not a {BUNDLE_FORMAT} file")
    if spec.get("version") != BUNDLE_VERSION or isinstance(spec.get("version"), bool):
        raise InputError(f"{shown_path(path)} has bundle version {shown(spec.get('version'))}; "
                         f"this tool reads {BUNDLE_VERSION}")
    validate(BundleFile, spec, source=file)
    for name in (PROJECTOR_FILE, LABELS_FILE):
        if not (path / name).is_file():
            raise InputError(f"bundle {shown_path(path)} lacks {name}")
    return Bundle(path=path, spec=spec)
