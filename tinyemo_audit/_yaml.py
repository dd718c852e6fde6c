"""The one reader of YAML inputs (audit settings, gate files, training and import configs): safe and bounded.

Every YAML file a user gives goes through :func:`read_yaml` (or :func:`load_yaml_text` for a
value given on the command line). Its rules, and why:

- **``yaml.safe_load`` semantics**: only plain data (mappings, lists, strings, numbers, booleans,
  null, dates); a ``!!python/...`` tag is refused and never runs.
- **Regular files, at most** :data:`MAX_YAML_BYTES`: read through :func:`input_files.read_text`, so
  a FIFO never hangs the read and a huge file is refused before it is read.
- **Aliases are bounded**: ``*alias`` repeats a node without copying it, so a few hundred bytes
  ("billion laughs": nine levels of ten aliases each) can stand for 10⁹ values. The document is
  composed into nodes first (aliases stay shared references there, which is cheap) and the size
  it would expand to is counted before anything is built; more than
  :data:`MAX_ALIAS_EXPANSION` nodes added by aliases, or a recursive alias, is refused.
- **Nesting is bounded** (:data:`MAX_DEPTH` levels, aliases expanded), so nothing downstream can
  recurse without end.
- **Integers are bounded** (:data:`MAX_INT_DIGITS` digits): Python refuses to convert integers
  of more than 4 300 digits with a ValueError; we refuse far earlier, with a message.
- **No silent surprises**: a key given twice is an error (YAML would keep the last one
  silently), and only ``true``/``false`` are booleans (YAML 1.2): YAML 1.1 would read the
  documented gate key ``on`` or a group called ``no`` as a boolean.

Every refusal is one :class:`~tinyemo_audit.errors.InputError` line naming the file and, where
the parser knows it, the line and column.

Examples
--------
>>> load_yaml_text("a: [1, 2]\\non: ci_low\\n", source="<example>")
{'a': [1, 2], 'on': 'ci_low'}
>>> bomb = "a: &a [x, x]\\n" + "".join(f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}]\\n" for p, c in zip("abcdefgh", "bcdefghi"))
>>> load_yaml_text(bomb, source="<bomb>")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
tinyemo_audit.errors.InputError: YAML <bomb>: its aliases expand to more than 10,000 values ...
"""

from __future__ import annotations

import inspect
import os
import re
from typing import Any

from .errors import InputError
from .input_files import MiB, read_text, shown_path
from .user_text import shorten, shown, visible

MAX_YAML_BYTES = 1 * MiB
MAX_DEPTH = 32
MAX_ALIAS_EXPANSION = 10_000
MAX_INT_DIGITS = 100

MSG_NOT_YAML = "{what} {source} is not valid YAML: {problem}"
MSG_REFUSED = "{what} {source}: {problem}"
MSG_NOT_MAPPING = "{source}: expected a mapping of settings, got {kind}"
PROBLEM_ALIASES = ("its aliases expand to more than {limit:,} values (a \"billion laughs\" document?); "
                   "write the values out instead of repeating aliases")
PROBLEM_RECURSIVE = "an alias refers to the node that contains it (a recursive structure)"
PROBLEM_DEPTH = "nested more than {limit} levels deep"
PROBLEM_INT = "an integer {digits:,} characters long (at most {limit} are read)"
PROBLEM_DUPLICATE = "the key {key} is given twice (YAML would silently keep the last one)"


def _mark(mark) -> str:
    return f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""


def _checked(construct, tag: str, yaml_error, constructor_error):
    def checked(loader, node):
        try:
            return construct(loader, node)
        except yaml_error:
            raise
        except Exception:  # noqa: BLE001 - a scalar constructor failing on its text: ValueError, IndexError, ...
            name = tag.rsplit(":", 1)[-1]
            raise constructor_error(None, None, f"{shown(node.value, limit=40)} is not a valid !!{name} value",
                             node.start_mark) from None
    return checked


def _loader_class():
    """SafeLoader with the rules of this module; built on first use (yaml is imported lazily)."""
    import yaml
    from yaml.constructor import ConstructorError
    from yaml.nodes import MappingNode, SequenceNode

    class Refused(yaml.MarkedYAMLError):
        """A well-formed document this reader refuses (too deep, too many aliases, ...)."""

    class InputLoader(yaml.SafeLoader):
        def __init__(self, stream):
            super().__init__(stream)
            self.depth, self.n_nodes = 0, 0

        def compose_node(self, parent, index):
            # Composition recurses once per nesting level: stop before Python's recursion limit.
            if self.check_event(yaml.AliasEvent):
                return super().compose_node(parent, index)
            self.depth += 1
            self.n_nodes += 1
            try:
                if self.depth > MAX_DEPTH:
                    raise Refused(problem=PROBLEM_DEPTH.format(limit=MAX_DEPTH), problem_mark=self.peek_event().start_mark)
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

        def construct_mapping(self, node, deep=False):
            seen = set()
            # A non-mapping node under a mapping tag (``!!set a``) is SafeConstructor's to refuse.
            for key_node, _ in node.value if isinstance(node, MappingNode) else ():
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=deep)
                try:
                    duplicate = key in seen
                except TypeError:  # an unhashable key: SafeConstructor reports it
                    continue
                if duplicate:
                    raise ConstructorError(None, None, PROBLEM_DUPLICATE.format(key=shown(key, limit=40)),
                                           key_node.start_mark)
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

        def construct_yaml_int(self, node):
            digits = len(str(node.value))
            if digits > MAX_INT_DIGITS:
                raise ConstructorError(None, None, PROBLEM_INT.format(digits=digits, limit=MAX_INT_DIGITS),
                                       node.start_mark)
            return super().construct_yaml_int(node)

    InputLoader.add_constructor("tag:yaml.org,2002:int", InputLoader.construct_yaml_int)
    # An explicit tag on a value that does not fit it (``!!int abc``, ``!!int ''``, ``!!timestamp x``)
    # makes PyYAML's scalar constructors raise ValueError, IndexError, KeyError, AttributeError:
    # report it as YAML the reader refuses, with its place.
    for tag, construct in list(InputLoader.yaml_constructors.items()):
        if tag is not None and not inspect.isgeneratorfunction(construct):
            InputLoader.add_constructor(tag, _checked(construct, tag, yaml.YAMLError, ConstructorError))
    bool_tag = "tag:yaml.org,2002:bool"
    InputLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != bool_tag]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    InputLoader.add_implicit_resolver(bool_tag, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))

    def check_expansion(root, n_composed: int) -> None:
        """Refuse a node graph whose aliases add too many values, recurse, or nest too deep once expanded.

        Iterative post-order walk with one (size, height) per distinct node: linear in the nodes
        composed, whatever the expanded size.
        """
        limit = n_composed + MAX_ALIAS_EXPANSION
        done: dict[int, tuple[int, int]] = {}
        on_path: set[int] = set()
        stack = [(root, False)]
        while stack:
            node, children_done = stack.pop()
            key = id(node)
            if children_done:
                on_path.discard(key)
                kids = _children(node)
                size = 1 + sum(done[id(k)][0] for k in kids)
                height = 1 + max((done[id(k)][1] for k in kids), default=0)
                if size > limit:
                    raise Refused(problem=PROBLEM_ALIASES.format(limit=MAX_ALIAS_EXPANSION), problem_mark=node.start_mark)
                if height > MAX_DEPTH:
                    raise Refused(problem=PROBLEM_DEPTH.format(limit=MAX_DEPTH), problem_mark=node.start_mark)
                done[key] = (size, height)
                continue
            if key in done:
                continue
            if key in on_path:
                raise Refused(problem=PROBLEM_RECURSIVE, problem_mark=node.start_mark)
            on_path.add(key)
            stack.append((node, True))
            stack.extend((kid, False) for kid in _children(node) if id(kid) not in done)

    def _children(node) -> list:
        if isinstance(node, SequenceNode):
            return list(node.value)
        if isinstance(node, MappingNode):
            return [part for pair in node.value for part in pair]
        return []

    return InputLoader, check_expansion, yaml.YAMLError


_LOADER = None


def load_yaml_text(text: str, *, source: str, what: str = "YAML") -> Any:
    """Parse one YAML document by the rules of this module (see the module docstring).

    Parameters
    ----------
    text : str
        The document.
    source : str
        Named in error messages (a path, or e.g. ``"--set splits"``).
    what : str
        What the document is, for messages ("audit config", "gate file", ...).

    Returns
    -------
    Any
        The plain data (``None`` for an empty document).

    Raises
    ------
    InputError
        One line: not valid YAML, a refused tag, too many aliases, too deep, a duplicate key.
    """
    global _LOADER
    if _LOADER is None:
        _LOADER = _loader_class()
    loader_class, check_expansion, yaml_error = _LOADER
    loader = None
    try:
        loader = loader_class(text)
        node = loader.get_single_node()
        if node is None:
            return None
        check_expansion(node, loader.n_nodes)
        return loader.construct_document(node)
    except yaml_error as err:
        template = MSG_REFUSED if type(err).__name__ == "Refused" else MSG_NOT_YAML
        raise InputError(template.format(what=what, source=shown_path(source), problem=_problem(err, text))) from None
    finally:
        if loader is not None:
            loader.dispose()


def _problem(err, text: str) -> str:
    """A YAML error as one bounded line: the problem and where it is."""
    if hasattr(err, "character") and hasattr(err, "position"):  # ReaderError: a character YAML forbids
        line = text.count("\n", 0, err.position) + 1
        return f"character U+{err.character:04X} is not allowed in YAML (line {line})"
    problem = getattr(err, "problem", None) or str(err)
    context = getattr(err, "context", None)
    if context and getattr(err, "problem", None):  # e.g. "expected a single document ..., but found another"
        problem = f"{context}, {problem}"
    problem = shorten(visible(" ".join(str(problem).split()), one_line=True), 160)
    return f"{problem}{_mark(getattr(err, 'problem_mark', None))}"


def read_yaml(path: str | os.PathLike, *, what: str, max_bytes: int = MAX_YAML_BYTES) -> Any:
    """The YAML document in the regular file ``path`` (UTF-8, at most ``max_bytes``), parsed safely."""
    text = read_text(path, what=what, max_bytes=max_bytes)
    return load_yaml_text(text, source=os.fspath(path), what=what)


def read_yaml_mapping(path: str | os.PathLike, *, what: str = "config") -> dict[str, Any]:
    """:func:`read_yaml` of a file that must hold a mapping (an empty file is ``{}``)."""
    data = read_yaml(path, what=what)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(MSG_NOT_MAPPING.format(source=shown_path(path), kind=type(data).__name__))
    return data
