"""Reading an instruct folder back for training: manifest, conversations and images, all checked first.

Anything that is not instruct data (no manifest, another format, rows that are not LLaVA-style
conversations, an image path leaving the folder, a fine-tuning answer without a known label)
is refused with one line naming the file and the row, before any training starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._json import read_json
from ..errors import InputError
from ..input_files import MiB, is_inside, shown_path
from .instruct import FINETUNE_FILE, MANIFEST, PRETRAIN_FILE
from ..user_text import has_control, shown
from .parse import stated_label
from .settings import INSTRUCT_FORMAT, INSTRUCT_VERSION, check_keys

MAX_JSON_BYTES = 512 * MiB
MAX_ID_CHARS = 1_000  # an id or an image path
MAX_TURN_CHARS = 20_000  # one prompt or answer
MSG_NOT_INSTRUCT = ("--data {path} is not instruct data ({why}); build it with "
                    "`tinyemo-audit instruct build --dataset faces --out {path}`")
ROLES = ("human", "gpt")


@dataclass
class Example:
    """One (prompt, answer) exchange about one image (index into ``InstructData.images``)."""

    image: int
    prompt: str
    answer: str


@dataclass
class InstructData:
    """A checked instruct folder: its manifest, the image files and the two sets of exchanges."""

    folder: Path
    manifest: dict[str, Any]
    images: list[Path]
    pretrain: list[Example]
    finetune: list[Example]

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.manifest["classes"])

    def summary(self) -> dict[str, Any]:
        """What a trained part records about its data."""
        keep = ("dataset", "split", "seed", "n_images", "grounded", "cue_vocabulary", "templates_sha256",
                "hint_share", "annotator_bias", "n_annotator_bias_rows")
        return {**{k: self.manifest.get(k) for k in keep}, "folder": str(self.folder),
                "n_pretrain": len(self.pretrain), "n_finetune": len(self.finetune)}


def _text(value: Any, at: str, what: str, limit: int, *, lines: bool = False) -> None:
    """The one rule for instruct text: bounded, and no control or bidi character (a newline only in turns).

    The texts become training targets and prompts: a control character would be learned and echoed.
    """
    if len(value) > limit:
        raise InputError(f"{at}: {what} is longer than {limit:,} characters")
    if has_control(value.replace("\n", " ") if lines else value):
        raise InputError(f"{at}: {what} {shown(value)} holds control characters; rebuild the instruct data")


def _rows(path: Path, folder: Path, images: dict[str, int], classes: tuple[str, ...] | None) -> list[Example]:
    """The exchanges of one rows file; every (human, gpt) pair of a row is one example."""
    rows = read_json(path, what="instruct rows", max_bytes=MAX_JSON_BYTES)
    where = shown_path(path)
    if not isinstance(rows, list) or not rows:
        raise InputError(f"{where} must be a non-empty JSON list of rows")
    examples = []
    for i, row in enumerate(rows):
        at = f"{where} row {i}"
        if not isinstance(row, dict) or not isinstance(row.get("image"), str) or not isinstance(row.get("id"), str):
            raise InputError(f"{at} needs a string 'id' and a string 'image' (LLaVA-style rows)")
        _text(row["id"], at, "id", MAX_ID_CHARS)
        _text(row["image"], at, "image", MAX_ID_CHARS)
        image = row["image"]
        if image not in images:
            target = folder / image
            if Path(image).is_absolute() or not is_inside(target, folder):
                raise InputError(f"{at}: image {shown(image)} is not inside the instruct folder")
            images[image] = len(images)
        turns = row.get("conversations")
        if not isinstance(turns, list) or len(turns) < 2 or len(turns) % 2:
            raise InputError(f"{at}: 'conversations' must be a list of human/gpt turns in pairs")
        for j, turn in enumerate(turns):
            check_keys(turn, ("from", "value"), f"{at} turn {j}")
            if turn.get("from") != ROLES[j % 2] or not isinstance(turn.get("value"), str) or not turn["value"].strip():
                raise InputError(f"{at} turn {j} must be {{'from': '{ROLES[j % 2]}', 'value': <text>}}")
            _text(turn["value"], f"{at} turn {j}", "text", MAX_TURN_CHARS, lines=True)
        for j in range(0, len(turns), 2):
            answer = turns[j + 1]["value"]
            if classes is not None and stated_label(answer, classes) is None:
                raise InputError(f"{at}: the answer states no label among the manifest's classes "
                                 "(EmoReason answers end with 'Predicted Label: X')")
            examples.append(Example(images[image], turns[j]["value"], answer))
    return examples


def read_instruct(folder: str | Path) -> InstructData:
    """Read and check an instruct folder written by ``instruct build`` (or one laid out the same way).

    Raises
    ------
    InputError
        The folder is not instruct data, or a file or row in it is malformed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(MSG_NOT_INSTRUCT.format(path=shown_path(folder), why="not a folder"))
    if not (folder / MANIFEST).is_file():
        raise InputError(MSG_NOT_INSTRUCT.format(path=shown_path(folder), why=f"no {MANIFEST}"))
    manifest = read_json(folder / MANIFEST, what="instruct manifest", max_bytes=MAX_JSON_BYTES)
    if not isinstance(manifest, dict) or manifest.get("format") != INSTRUCT_FORMAT:
        raise InputError(MSG_NOT_INSTRUCT.format(path=shown_path(folder), why=f"{MANIFEST} is not a {INSTRUCT_FORMAT} file"))
    if manifest.get("version") != INSTRUCT_VERSION:
        raise InputError(f"{shown_path(folder / MANIFEST)} has version {shown(manifest.get('version'))}; "
                         f"this tool reads {INSTRUCT_VERSION}")
    classes = manifest.get("classes")
    if not isinstance(classes, list) or not classes or not all(isinstance(c, str) and c for c in classes):
        raise InputError(f"{shown_path(folder / MANIFEST)}: 'classes' must be a non-empty list of label names")
    files = manifest.get("files") or {}
    names = {"pretrain": files.get("pretrain", PRETRAIN_FILE), "finetune": files.get("finetune", FINETUNE_FILE)}
    for kind, name in names.items():
        if not isinstance(name, str) or not is_inside(folder / name, folder):
            raise InputError(f"{shown_path(folder / MANIFEST)}: files.{kind} must name a file inside the folder")
    images: dict[str, int] = {}
    pretrain = _rows(folder / names["pretrain"], folder, images, None)
    finetune = _rows(folder / names["finetune"], folder, images, tuple(classes))
    paths = [folder / name for name, _ in sorted(images.items(), key=lambda item: item[1])]
    return InstructData(folder, manifest, paths, pretrain, finetune)


def load_instruct_images(data: InstructData, size: int) -> np.ndarray:
    """Decode every image of ``data`` at ``size`` × ``size``; one unreadable image is an InputError."""
    from .features import read_image_files

    return read_image_files(data.images, size, what="instruct image",
                            remedy="; rebuild the instruct data or remove its rows")
