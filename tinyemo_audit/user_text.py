"""The one sanitiser for user-controlled text on every output: terminal, messages, files, HTML.

Two rules live here and nowhere else:

- **Control characters** (C0 but tab and newline, DEL, C1, and the bidirectional marks,
  embeddings, overrides and isolates) never reach an output raw: :func:`visible` shows each as a
  ``\\uXXXX`` escape. They can corrupt a terminal, a CSV or an XML file, and make a page show text
  other than it holds. Data readers use :data:`CONTROL_CHARACTERS` to skip items that carry them.
- **Sizes**: a value echoed in a message is shown by :func:`shown`, bounded to a few dozen
  characters, so a hostile input can never turn into a megabyte-long error line.

Examples
--------
>>> visible("north\\x1b[31m \\u202eevil")
'north\\\\u001B[31m \\\\u202Eevil'
>>> shown("x" * 1000, limit=8)
"'xxxxxxxx… (1000 characters)"
"""

from __future__ import annotations

import re
from typing import Any

CONTROL_CODEPOINTS: tuple[int, ...] = tuple(
    [c for c in range(0x20) if c not in (0x09, 0x0A)] + list(range(0x7F, 0xA0))
    + [0x061C, 0x200E, 0x200F] + list(range(0x202A, 0x202F)) + list(range(0x2066, 0x206A))
)
# For pandas ``str.contains`` and ``re``: any control character, tab and newline included (a field
# value or a file name holding a tab or newline is as unusable as one holding ESC).
CONTROL_CHARACTERS = r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
_CONTROL_RE = re.compile(CONTROL_CHARACTERS)
_VISIBLE = {c: f"\\u{c:04X}" for c in CONTROL_CODEPOINTS}
_ONE_LINE = {**_VISIBLE, 0x09: "\\u0009", 0x0A: "\\u000A"}
SHOWN_LIMIT = 80


def has_control(text: str) -> bool:
    """True when ``text`` holds any control character (tab and newline included)."""
    return _CONTROL_RE.search(text) is not None


def visible(text: str, *, one_line: bool = False) -> str:
    r"""``text`` with every control or bidi character shown as a visible ``\uXXXX`` escape.

    Tab and newline are kept unless ``one_line`` is set (then they are escaped too).
    """
    return text.translate(_ONE_LINE if one_line else _VISIBLE)


def shorten(text: str, limit: int = SHOWN_LIMIT) -> str:
    """``text`` cut to about ``limit`` characters, saying how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[:max(limit - 3, 1)]}… ({len(text)} characters)"


def shown(value: Any, *, limit: int = SHOWN_LIMIT) -> str:
    """A value as an error message may echo it: ``repr``-like, one line, control characters visible, bounded.

    Long containers and strings are never formatted whole (their ``repr`` could be huge): a container
    over 20 entries is named by type and length, a string is cut and its length given.
    """
    if isinstance(value, (list, tuple, dict, set, frozenset)) and len(value) > 20:
        return f"a {type(value).__name__} of {len(value)} entries"
    if isinstance(value, str) and len(value) > limit:
        return f"{visible(repr(value[:limit]), one_line=True)[:-1]}… ({len(value)} characters)"
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__ must not break the error path
        text = f"<{type(value).__name__}>"
    return shorten(visible(text, one_line=True), limit)
