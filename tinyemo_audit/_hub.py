"""Finding Hugging Face model files offline: a local folder, or the HF cache (download only if allowed)."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import WeightsUnavailableError

OFFLINE_VALUES = ("1", "true", "yes", "on")


def hub_offline() -> bool:
    """True unless the user set ``HF_HUB_OFFLINE=0``: these machines never download by default."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return os.environ["HF_HUB_OFFLINE"].strip().lower() in OFFLINE_VALUES


def one_line(err: BaseException) -> str:
    """The first line of an exception's message (library errors are often paragraphs)."""
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def is_local_ref(ref: str) -> bool:
    """True when ``ref`` names a folder on disk rather than a hub id."""
    return Path(ref).expanduser().exists() or ref.startswith(("/", "~", "."))


def locate_file(ref: str, filename: str) -> Path | None:
    """Path of ``filename`` of model ``ref`` (a folder, or a hub id), or None when it has none.

    Offline (the default) only the local HF cache is looked at; with ``HF_HUB_OFFLINE=0`` a
    missing file is downloaded, and a hub failure raises WeightsUnavailableError.
    """
    if is_local_ref(ref):
        path = Path(ref).expanduser() / filename
        return path if path.is_file() else None
    if hub_offline():
        from huggingface_hub import try_to_load_from_cache

        try:
            found = try_to_load_from_cache(ref, filename)
        except Exception:  # noqa: BLE001 - a malformed id simply is not in the cache
            return None
        return Path(found) if isinstance(found, str) else None
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    try:
        return Path(hf_hub_download(ref, filename))
    except EntryNotFoundError:
        return None
    except Exception as err:  # noqa: BLE001 - hub errors are many; all mean "not available"
        raise WeightsUnavailableError(f"{ref}: {one_line(err)}") from None
