"""Readers that turn one split of a dataset layout on disk into a table of items (path, label, id, attributes)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..input_files import MiB, is_inside, open_regular, read_text, shown_path
from ..user_text import shown, visible
from .images import IMAGE_SUFFIXES
from .layout_spec import SPLIT_NAMES, DatasetLayout

ROLES = ("path", "label", "id", "split", "pixels")
# No item may be read from outside its dataset folder, decided on resolved paths (symlinks and
# ``..`` included): a shared manifest or a link in the folder must not make the audit read (and
# show thumbnails of) files elsewhere on the machine. Such an item is skipped, never opened.
MSG_OUTSIDE = "path leaves the dataset folder {root}"
# A file the whole split is read from (manifest, list) that leaves the folder fails the load.
MSG_FILE_OUTSIDE = "{what} {path} leaves the dataset folder {root}"
MAX_TABLE_BYTES = 4096 * MiB  # CSV manifests and pixel tables (FER2013's is 287 MB)
MAX_LIST_BYTES = 512 * MiB  # split and label lists
MAX_ATTRIBUTE_FILE_BYTES = MiB  # one item's attribute file


class MissingSplitError(InputError):
    """The dataset has no items for the requested split (``datasets inspect`` lists it as missing)."""


@dataclasses.dataclass
class Items:
    """One split as read from disk, before labels are matched and images decoded.

    ``table`` has columns ``path`` (absolute, or None for pixel data), ``label`` (raw string, only when
    ``labelled``), ``id``, then one column per attribute (raw values, NaN where missing).
    """

    table: pd.DataFrame
    labelled: bool
    source: str
    skipped: list[dict] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)
    all_labels: tuple[str, ...] | None = None  # every label in every split, for a shared index
    images: np.ndarray | None = None  # pre-decoded (pixels kind), one row per table row
    root: Path | None = None  # the dataset folder every item path must stay inside (None: no paths)


def _missing(layout: DatasetLayout, root: Path, split: str, looked: str) -> MissingSplitError:
    return MissingSplitError(f"{layout.name} at {root} has no {split!r} split ({looked})")


def _split_folder(layout: DatasetLayout, root: Path, split: str) -> Path:
    """First existing candidate folder; ``"."`` only when no other split's folder exists."""
    candidates = layout.splits.get(split, ())
    others = [c for s in SPLIT_NAMES for c in layout.splits.get(s, ()) if c != "."]
    for candidate in candidates:
        if candidate == ".":
            if not any((root / c).is_dir() for c in others):
                return root
        elif (root / candidate).is_dir():
            return root / candidate
    looked = f"looked for {', '.join(candidates)}" if candidates else "the layout declares none"
    raise _missing(layout, root, split, looked)


def outside(paths, root: Path) -> np.ndarray:
    """Which of ``paths`` (None: no file) resolve outside the folder ``root``; see :data:`MSG_OUTSIDE`."""
    return np.asarray([p is not None and not is_inside(p, root) for p in paths], dtype=bool)


def dataset_file(root: Path, relative: str, what: str) -> Path:
    """``root / relative``, a file a whole split is read from; an InputError if it resolves outside ``root``."""
    path = root / relative
    if not is_inside(path, root):
        raise InputError(MSG_FILE_OUTSIDE.format(what=what, path=shown_path(path), root=shown_path(root)))
    return path


def _first_present(root: Path, candidates, what: str) -> Path | None:
    """The first candidate that exists in any form (a FIFO or folder there is then refused when read)."""
    return next((dataset_file(root, c, what) for c in candidates if os.path.lexists(root / c)), None)


def _rel_id(path: Path, base: Path) -> str:
    try:
        rel = path.relative_to(base)
    except ValueError:
        rel = Path(path.name)
    return rel.with_suffix("").as_posix()


def _files(folder: Path) -> tuple[list[tuple[str, ...]], int, int]:
    """Entries named as images under ``folder`` (relative path parts), non-image files ignored, linked folders.

    Every entry with an image suffix is an item, whatever it is: a FIFO, socket or folder named
    ``x.png`` is then skipped with what it is when read, never opened for reading. Links to
    folders are not followed (they could lead outside the dataset, or in a circle).
    """
    parts, ignored, linked = [], 0, 0
    for top, dirs, files in os.walk(folder, followlinks=False):
        rel_top = Path(top).relative_to(folder).parts
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in dirs:
            if os.path.islink(os.path.join(top, name)):
                linked += 1
                if Path(name).suffix.lower() in IMAGE_SUFFIXES:
                    parts.append((*rel_top, name))
            elif Path(name).suffix.lower() in IMAGE_SUFFIXES:
                parts.append((*rel_top, name))  # a folder named like an image: skipped when read
        for name in sorted(f for f in files if not f.startswith(".")):
            if Path(name).suffix.lower() in IMAGE_SUFFIXES:
                parts.append((*rel_top, name))
            else:
                ignored += 1
    return sorted(parts), ignored, linked


def read_imagefolder(layout: DatasetLayout, root: Path, split: str) -> Items:
    """``<split>/<label>/[<path_attributes>/...]<file>``; without label folders, ``<split>/<file>`` unlabelled."""
    folder = _split_folder(layout, root, split)
    parts, ignored, linked = _files(folder)
    problems = [f"{ignored} non-image file(s) ignored"] if ignored else []
    if linked:
        problems.append(f"{linked} link(s) to folders not followed")
    labelled = bool(layout.path_attributes) or any(p.is_dir() and not p.name.startswith(".") for p in folder.iterdir())
    depth = 2 + len(layout.path_attributes) if labelled else 1
    kept = [p for p in parts if len(p) == depth]
    if len(kept) != len(parts):
        shape = "/".join(["<label>", *(f"<{a}>" for a in layout.path_attributes), "<file>"]) if labelled else "<file>"
        problems.append(f"{len(parts) - len(kept)} image file(s) not at {shape} ignored")
    table = pd.DataFrame({
        "path": [str(folder.joinpath(*p)) for p in kept],
        "id": [Path(*p).with_suffix("").as_posix() for p in kept],
    })
    all_labels = None
    if labelled:
        table.insert(1, "label", [p[0] for p in kept])
        for level, name in enumerate(layout.path_attributes, start=1):
            table[name] = [p[level] for p in kept]
        split_dirs = set()
        for s in SPLIT_NAMES:
            try:
                split_dirs.add(_split_folder(layout, root, s))
            except MissingSplitError:
                pass
        all_labels = tuple(sorted({d.name for s in split_dirs for d in s.iterdir() if d.is_dir() and not d.name.startswith(".")}))
    return Items(table, labelled, str(folder), problems=problems, all_labels=all_labels, root=root)


def read_split_lists(layout: DatasetLayout, root: Path, split: str) -> Items:
    """Per-split list files: text lines ``<path> [<label>]`` (label = first folder if absent) or JSON ``[label, path, ...]``."""
    candidates = layout.splits.get(split, ())
    listing = _first_present(root, candidates, "split list")
    if listing is None:
        raise _missing(layout, root, split, f"looked for {', '.join(candidates) or 'no list file'}")
    base = root / layout.image_dir
    text = read_text(listing, what="split list", max_bytes=MAX_LIST_BYTES)
    if listing.suffix.lower() == ".json":
        try:
            entries = json.loads(text)
        except ValueError as err:
            raise InputError(f"cannot read split list {shown_path(listing)}: {err}") from None
        if not isinstance(entries, list) or not all(isinstance(e, (list, dict)) and e for e in entries):
            raise InputError(f"split list {shown_path(listing)} must be a JSON list of [label, path, ...] entries")
        rows = [(e[1], e[0]) if isinstance(e, list) else (e.get("path"), e.get("label")) for e in entries]
    else:
        lines = [line.split() for line in text.splitlines() if line.strip()]
        rows = [(t[0], t[1] if len(t) > 1 else Path(t[0]).parts[0]) for t in lines]
    table = pd.DataFrame({
        "path": [str(base / str(p)) for p, _ in rows],
        "label": [None if lab is None else str(lab) for _, lab in rows],
        "id": [Path(str(p)).with_suffix("").as_posix() for p, _ in rows],
    })
    return Items(table, True, str(listing), root=root)


def read_filenames(layout: DatasetLayout, root: Path, split: str) -> Items:
    """Files directly in the split folder; label and attributes from ``pattern``'s named groups."""
    if not layout.pattern:
        raise InputError(f"dataset layout {layout.name!r} (kind filenames) needs a pattern")
    try:
        pattern = re.compile(layout.pattern)
    except re.error as err:
        raise InputError(f"dataset layout {layout.name!r}: bad pattern {layout.pattern!r}: {err}") from None
    folder = _split_folder(layout, root, split)
    # Every entry named as an image is an item; one that is not a regular file is skipped when read.
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
    groups = list(pattern.groupindex)
    matches = [pattern.match(p.name) for p in files]
    skipped = [{"id": p.stem, "path": str(p), "reason": f"file name does not match {layout.pattern}"}
               for p, m in zip(files, matches) if m is None]
    kept = [(p, m) for p, m in zip(files, matches) if m is not None]
    table = pd.DataFrame({"path": [str(p) for p, _ in kept], "id": [_rel_id(p, folder) for p, _ in kept]})
    for group in groups:
        table[group] = [m.group(group) for _, m in kept]
    labelled = "label" in groups
    if labelled:
        table.insert(1, "label", table.pop("label"))
    return Items(table, labelled, str(folder), skipped=skipped, root=root)


def _not_utf8(handle) -> str:
    """Where the first non-UTF-8 byte is (pandas' own error counts from a chunk, not the file)."""
    handle.seek(0)
    data = handle.read()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        return f"it is not UTF-8 text (byte 0x{data[err.start]:02x} on line {line})"
    return "it is not UTF-8 text"


def read_csv(path: Path, *, what: str = "CSV") -> pd.DataFrame:
    """A CSV (regular file only, at most :data:`MAX_TABLE_BYTES`) as strings; its header cells stripped."""
    with os.fdopen(open_regular(path, what=what), "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > MAX_TABLE_BYTES:
            raise InputError(f"{what} {shown_path(path)} is {size:,} bytes; at most {MAX_TABLE_BYTES:,} are read")
        try:
            frame = pd.read_csv(handle, dtype=str, skipinitialspace=True, encoding="utf-8")
        except UnicodeDecodeError:
            raise InputError(f"cannot read {what} {shown_path(path)}: {_not_utf8(handle)}; save it as UTF-8") from None
        except (OSError, ValueError, pd.errors.ParserError) as err:
            raise InputError(f"cannot read {what} {shown_path(path)}: {' '.join(str(err).split())}") from None
    frame.columns = [str(c).strip().strip("'\"") for c in frame.columns]
    return frame


def _require(frame: pd.DataFrame, columns, where: Path) -> None:
    for column in columns:
        if column not in frame.columns:
            present = ", ".join(visible(str(c), one_line=True) for c in frame.columns[:20])
            more = f" and {len(frame.columns) - 20} more" if len(frame.columns) > 20 else ""
            raise InputError(f"{shown_path(where)} has no {shown(column)} column (columns: {present or 'none'}{more})")


def _manifest(layout: DatasetLayout, root: Path, split: str) -> tuple[Path, bool]:
    """The CSV to read and whether rows must be filtered by a split column."""
    if not root.is_dir():
        return root, True
    if layout.manifest:
        path = dataset_file(root, layout.manifest, "manifest")
        if not os.path.lexists(path):
            raise InputError(f"{layout.name}: manifest {shown_path(path)} not found")
        return path, True
    candidates = layout.splits.get(split, ())
    if not any(Path(c).suffix for c in candidates):  # split values of a column, not file names
        raise InputError(f"{layout.name}: {shown_path(root)} is a folder; give the manifest file, "
                         f"e.g. {layout.name}:{shown_path(root)}/manifest.csv")
    path = _first_present(root, candidates, "manifest")
    if path is None:
        raise _missing(layout, root, split, f"looked for {', '.join(candidates) or 'no manifest'}")
    return path, False


def _rows_of_split(layout: DatasetLayout, frame: pd.DataFrame, manifest: Path, split: str) -> pd.DataFrame:
    column = layout.column("split")
    if column not in frame.columns:
        if split != "test":
            raise MissingSplitError(
                f"{manifest} has no {column!r} column, so it is all the test split; there is no {split!r} split"
            )
        return frame
    wanted = {c.lower() for c in layout.splits.get(split, (split,))}
    rows = frame[frame[column].fillna("").str.strip().str.lower().isin(wanted)]
    if rows.empty:
        raise MissingSplitError(f"{manifest} has no rows whose {column!r} is {' or '.join(sorted(wanted))}")
    return rows


def _strip_quotes(values: pd.Series) -> pd.Series:
    return values.str.strip().str.strip("'\"")


def read_manifest(layout: DatasetLayout, root: Path, split: str) -> Items:
    """A CSV manifest: ``path`` (relative to the CSV's folder), optional ``label``/``id``/``split``, attributes."""
    manifest, by_column = _manifest(layout, root, split)
    frame = read_csv(manifest)
    path_col, label_col, id_col = layout.column("path"), layout.column("label"), layout.column("id")
    required = [path_col, *(layout.attributes or ())]
    if "label" in layout.columns:
        required.append(label_col)  # a named layout that declares its label column needs it
    _require(frame, required, manifest)
    all_labels = None
    labelled = label_col in frame.columns
    if labelled and layout.taxonomy is None:
        all_labels = tuple(sorted(set(frame[label_col].dropna().str.strip()) - {""}))
    if by_column:
        frame = _rows_of_split(layout, frame, manifest, split)
    roles = {path_col, label_col, id_col, layout.column("split")}
    attributes = list(layout.attributes) if layout.attributes is not None else [c for c in frame.columns if c not in roles]
    base = manifest.parent / layout.image_dir
    raw_paths = _strip_quotes(frame[path_col])
    missing = (raw_paths.isna() | (raw_paths == "")).to_numpy()
    ids = frame[id_col].str.strip() if id_col in frame.columns else raw_paths.map(
        lambda p: None if not isinstance(p, str) else Path(p).with_suffix("").as_posix())
    ids = ids.where(ids.notna() & (ids != ""), other=pd.Series([f"row-{i + 2}" for i in range(len(frame))], index=frame.index))
    skipped = [{"id": i, "path": None, "reason": "missing path"} for i in ids[missing]]
    keep = ~missing
    table = pd.DataFrame({"path": [str(base / p) for p in raw_paths[keep]], "id": ids[keep].to_numpy(str)})
    if labelled:
        table.insert(1, "label", frame.loc[keep, label_col].to_numpy(object))
    for column in attributes:
        table[column] = frame.loc[keep, column].to_numpy(object)
    # The dataset folder: the one named, or the manifest's own when a CSV file is named.
    folder = root if root.is_dir() else manifest.parent
    return Items(table, labelled, str(manifest), skipped=skipped, all_labels=all_labels, root=folder)


def read_votes(layout: DatasetLayout, root: Path, split: str) -> Items:
    """A CSV of per-class vote counts: the label is the majority class; ties and no-vote rows are skipped."""
    if not layout.manifest or not layout.votes:
        raise InputError(f"dataset layout {layout.name!r} (kind votes) needs a manifest and votes columns")
    if "." not in layout.splits.get(split, ()):
        raise _missing(layout, root, split, "the whole vote table is the test split")
    manifest = dataset_file(root, layout.manifest, "vote table")
    if not os.path.lexists(manifest):
        raise InputError(f"{layout.name}: vote table {shown_path(manifest)} not found")
    frame = read_csv(manifest)
    path_col = layout.column("path")
    vote_cols = list(layout.votes)
    _require(frame, [path_col, *vote_cols], manifest)
    names = _strip_quotes(frame[path_col]).fillna("")
    counts = frame[vote_cols].apply(pd.to_numeric, errors="coerce").to_numpy(float)
    bad = np.isnan(counts).any(axis=1) | (counts < 0).any(axis=1) | (names == "").to_numpy()
    counts = np.nan_to_num(counts)
    top = counts.max(axis=1)
    ties = (counts == top[:, None]).sum(axis=1) > 1
    none = top <= 0
    ids = names.map(lambda p: Path(p).with_suffix("").as_posix()).to_numpy(str)
    base = root / layout.image_dir
    skipped = []
    for i in np.flatnonzero(bad | none | ties):
        if bad[i]:
            reason = "missing or non-numeric votes"
        elif none[i]:
            reason = "no votes"
        else:
            tied = [layout.votes[c] for c, n in zip(vote_cols, counts[i]) if n == top[i]]
            reason = f"tied vote ({', '.join(tied)}: {int(top[i])} each)"
        skipped.append({"id": ids[i], "path": str(base / names.iloc[i]), "reason": reason})
    keep = ~(bad | none | ties)
    labels = np.asarray([layout.votes[c] for c in vote_cols], dtype=object)[counts.argmax(axis=1)]
    table = pd.DataFrame({
        "path": [str(base / p) for p in names[keep]],
        "label": labels[keep],
        "id": ids[keep],
    })
    return Items(table, True, str(manifest), skipped=skipped, root=root)


def _attribute_file_values(path: Path, root: Path, n: int) -> list[str | None]:
    """The last ``n`` lines of one item's attribute file; all None when it is absent, unreadable or outside."""
    if not is_inside(path, root):
        return [None] * n
    try:
        text = read_text(path, what="attribute file", max_bytes=MAX_ATTRIBUTE_FILE_BYTES)
    except InputError:
        return [None] * n
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-n:] if len(lines) >= n else [None] * n


def read_label_list(layout: DatasetLayout, root: Path, split: str) -> Items:
    """One ``<file> <label code>`` list for all splits, the split given by the file-name prefix (RAF-DB)."""
    if not layout.manifest:
        raise InputError(f"dataset layout {layout.name!r} (kind label_list) needs a manifest")
    listing = dataset_file(root, layout.manifest, "label list")
    if not os.path.lexists(listing):
        raise InputError(f"{layout.name}: label list {shown_path(listing)} not found")
    text = read_text(listing, what="label list", max_bytes=MAX_LIST_BYTES)
    rows = [line.split() for line in text.splitlines() if line.strip()]
    prefixes = layout.splits.get(split, ())
    rows = [r for r in rows if prefixes and r[0].startswith(prefixes)]
    if not rows:
        raise _missing(layout, root, split, f"no file in {listing.name} starts with {' or '.join(prefixes) or 'a declared prefix'}")
    base = root / layout.image_dir
    names = [Path(r[0]) for r in rows]
    table = pd.DataFrame({
        "path": [str(base / layout.image_name.format(stem=n.stem, suffix=n.suffix)) for n in names],
        "label": [r[1] if len(r) > 1 else None for r in rows],
        "id": [n.stem for n in names],
    })
    problems = []
    if layout.attribute_files and layout.attribute_lines:
        n = len(layout.attribute_lines)
        values = [_attribute_file_values(root / layout.attribute_files.format(stem=p.stem, suffix=p.suffix), root, n)
                  for p in names]
        for j, attribute in enumerate(layout.attribute_lines):
            table[attribute] = [v[j] for v in values]
        absent = sum(v[0] is None for v in values)
        if absent == len(values):
            table = table.drop(columns=list(layout.attribute_lines))
            problems.append(f"no attribute files ({layout.attribute_files}); attributes left out")
        elif absent:
            problems.append(f"{absent} item(s) without a readable attribute file")
    return Items(table, True, str(listing), problems=problems, root=root)


def _parse_pixels(strings: np.ndarray, ok: np.ndarray, length: int) -> np.ndarray:
    """Rows ``ok`` of ``strings`` as floats (NaN where a token is not a number), shape (len, length)."""
    import warnings

    values = np.full((len(strings), length), np.nan)
    rows = np.flatnonzero(ok)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # older numpy warns where parsing stops early
        try:
            flat = np.fromstring(" ".join(strings[rows]), dtype=np.float64, sep=" ")
        except ValueError:  # newer numpy raises instead
            flat = np.zeros(0)
    if flat.size == rows.size * length:
        values[rows] = flat.reshape(-1, length)
        return values
    for i in rows:  # a non-numeric token somewhere: find the rows it is in
        values[i] = pd.to_numeric(pd.Series(strings[i].split()), errors="coerce").to_numpy(float)
    return values


def read_pixels(layout: DatasetLayout, root: Path, split: str) -> Items:
    """A CSV of square greyscale images as space-separated pixel strings (FER2013)."""
    manifest, _ = _manifest(layout, root, split)
    frame = read_csv(manifest)
    pixel_col, label_col = layout.column("pixels"), layout.column("label")
    _require(frame, [pixel_col, label_col], manifest)
    frame = _rows_of_split(layout, frame, manifest, split)
    ids = np.asarray([f"row-{i + 2}" for i in frame.index])  # the CSV's own line number
    strings = frame[pixel_col].fillna("").str.strip()
    lengths = strings.str.count(r"\s+").to_numpy() + 1
    lengths[(strings == "").to_numpy()] = 0
    common = int(np.bincount(lengths).argmax())
    side = int(round(common ** 0.5))
    reasons: list[str | None] = [None] * len(frame)
    for i in np.flatnonzero(lengths != common):
        reasons[i] = f"pixel string has {lengths[i]} values, expected {common}"
    if side * side != common or common == 0:
        raise InputError(f"{manifest}: pixel strings hold {common} values, not a square image")
    ok = np.asarray([r is None for r in reasons])
    values = _parse_pixels(strings.to_numpy(str), ok, common)
    bad = ok & (np.isnan(values).any(axis=1) | (values < 0).any(axis=1) | (values > 255).any(axis=1)
                | (values != np.round(values)).any(axis=1))
    for i in np.flatnonzero(bad):
        reasons[i] = "pixel string holds values that are not integers 0-255"
    ok &= ~bad
    skipped = [{"id": ids[i], "path": None, "reason": reasons[i]} for i in np.flatnonzero(~ok)]
    grey = values[ok].reshape(-1, side, side).astype(np.uint8)
    table = pd.DataFrame({"path": [None] * int(ok.sum()), "label": frame.loc[ok, label_col].to_numpy(object), "id": ids[ok]})
    images = np.repeat(grey[..., None], 3, axis=3)
    return Items(table, True, str(manifest), skipped=skipped, images=images)


READERS = {
    "imagefolder": read_imagefolder,
    "split_lists": read_split_lists,
    "filenames": read_filenames,
    "manifest": read_manifest,
    "votes": read_votes,
    "label_list": read_label_list,
    "pixels": read_pixels,
}
