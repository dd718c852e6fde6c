"""Reading the label a generated answer states ("... Predicted Label: X") back out of its text."""

from __future__ import annotations

DEFAULT_ANSWER = "Reasoning: {reasoning} Predicted Label: {label}"


def label_marker(answer_template: str = DEFAULT_ANSWER) -> str:
    """The words just before ``{label}`` in the answer template (``"Predicted Label:"``).

    Examples
    --------
    >>> label_marker("Reasoning: {reasoning} Predicted Label: {label}")
    'Predicted Label:'
    """
    head = answer_template.split("{label}", 1)[0]
    return head.rsplit("}", 1)[-1].strip()


def stated_label(text: str, classes: tuple[str, ...] | list[str], answer_template: str = DEFAULT_ANSWER) -> str | None:
    """The class an answer states after its last label marker, or None when none parses.

    Matching ignores case, surrounding whitespace and trailing punctuation; the longest class name
    that starts the remainder wins (so "very happy" never parses as "happy", and a class
    "happy-ish" beats "happy"). A text without the marker, or whose marker is followed by no known
    class, is a parse failure.

    Examples
    --------
    >>> stated_label("Reasoning: raised cheeks. Predicted Label: Happy.", ("happy", "sad"))
    'happy'
    >>> stated_label("I think it is happy", ("happy", "sad")) is None
    True
    """
    marker = label_marker(answer_template)
    if not marker:
        return None
    at = text.lower().rfind(marker.lower())
    if at < 0:
        return None
    rest = text[at + len(marker):].strip().lower()
    for name in sorted(classes, key=len, reverse=True):
        lowered = name.lower()
        following = rest[len(lowered):len(lowered) + 1]
        # The name must end there: "happyish" is not "happy" ("".isalnum() is False at the end).
        if lowered and rest.startswith(lowered) and not (following.isalnum() or following in ("-", "_")):
            return name
    return None
