"""YAML with line numbers: read a content file so that every error can say ``file:line``.

PyYAML's safe loader builds plain data (no tags, no objects: content is data); its C parser
(libyaml) is used when PyYAML has it, a tenth of the time of the Python one. We keep the
composed node tree and the text beside the data, so that a path such as ``("options", "correct")`` from a validation
error or a checker finds the line it came from. Duplicate keys, which PyYAML would silently
overwrite, are errors here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = ["Problem", "SourceDocument", "parse_yaml", "parse_yaml_documents", "read_yaml"]

MAX_FILE_BYTES = 1_000_000
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One thing wrong with a content file, where it is.

    A ``warning`` (a guessable key, say) fails the check only under ``--strict``.
    """

    file: str
    line: int
    message: str
    severity: str = "error"

    @property
    def is_warning(self) -> bool:
        return self.severity == "warning"

    def __str__(self) -> str:
        label = "warning: " if self.is_warning else ""
        return f"{self.file}:{self.line}: {label}{self.message}"


@dataclass(frozen=True)
class SourceDocument:
    """One YAML document: its data and the node tree that knows the lines."""

    file: str
    data: Any
    node: yaml.Node | None
    text: str | None = None
    """The document's text, which the nodes' marks index (to find a line inside a value)."""

    def line_of(self, path: tuple[str | int, ...]) -> int:
        """The 1-based line of the deepest node along ``path`` that exists."""
        node = self.node
        if node is None:
            return 1
        line = node.start_mark.line + 1
        for part in path:
            child = _child(node, part)
            if child is None:
                break
            key_node, node = child
            line = (key_node or node).start_mark.line + 1
        return line

    def line_within(self, path: tuple[str | int, ...], needle: str) -> int:
        """The line inside the value at ``path`` where ``needle`` is written (a name inside the
        stem, a ``rank:`` folded into a text), or the line of ``path`` if it is not found there.

        The search reads the file's own text between the value's marks, so a block scalar's
        lines are the file's lines; a needle split by folding is looked for by its longest
        first part that is found."""
        node = self._node(path)
        if node is None or not needle.strip() or self.text is None:
            return self.line_of(path)
        raw = self.text[node.start_mark.index : node.end_mark.index]
        first = needle.strip().splitlines()[0].strip()
        for part in dict.fromkeys((first, first[:40], first[:24], first[:12])):
            at = raw.find(part)
            if at >= 0:
                return node.start_mark.line + raw.count("\n", 0, at) + 1
        return self.line_of(path)

    def _node(self, path: tuple[str | int, ...]) -> yaml.Node | None:
        node = self.node
        for part in path:
            if node is None:
                return None
            child = _child(node, part)
            if child is None:
                return None
            node = child[1]
        return node

    def problem(self, path: tuple[str | int, ...], message: str, *, needle: str | None = None,
                severity: str = "error") -> Problem:
        line = self.line_within(path, needle) if needle else self.line_of(path)
        return Problem(self.file, line, message, severity)


def _child(node: yaml.Node, part: str | int) -> tuple[yaml.Node | None, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return key, value
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return None, node.value[part]
    return None


def _duplicates(node: yaml.Node | None, file: str, seen_nodes: set[int] | None = None) -> list[Problem]:
    # An alias is the node it names, met again: each node is looked at once, so that a document of
    # nested aliases (a "billion laughs") costs its size, not the size it would expand to.
    seen_nodes = set() if seen_nodes is None else seen_nodes
    if node is None or id(node) in seen_nodes:
        return []
    seen_nodes.add(id(node))
    problems: list[Problem] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    problems.append(
                        Problem(file, key.start_mark.line + 1, f"duplicate key {key.value!r}")
                    )
                seen.add(key.value)
            problems.extend(_duplicates(value, file, seen_nodes))
    elif isinstance(node, yaml.SequenceNode):
        for value in node.value:
            problems.extend(_duplicates(value, file, seen_nodes))
    return problems


def read_yaml(path: Path, display: str | None = None) -> tuple[SourceDocument | None, list[Problem]]:
    """Read one YAML file; on any problem return no document and the problems."""
    name = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem(name, 1, f"cannot read the file: {exc.strerror}")]
    if len(raw) > MAX_FILE_BYTES:
        return None, [Problem(name, 1, f"file larger than {MAX_FILE_BYTES} bytes")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(name, 1, f"not UTF-8 text ({exc.reason} at byte {exc.start})")]
    return parse_yaml(text, name)


def parse_yaml_documents(text: str, name: str) -> tuple[list[SourceDocument], list[Problem]]:
    """Every document of a ``---``-separated YAML stream, each knowing its lines in ``text``."""
    loader = _LOADER(text)
    documents: list[SourceDocument] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            problems = _duplicates(node, name)
            if problems:
                return [], problems
            documents.append(SourceDocument(name, loader.construct_document(node), node, text))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(filter(None, [exc.context, exc.problem]))
        return [], [Problem(name, mark.line + 1 if mark else 1, f"malformed YAML: {message}")]
    except yaml.YAMLError as exc:
        return [], [Problem(name, 1, f"malformed YAML: {exc}")]
    finally:
        loader.dispose()
    return documents, []


def parse_yaml(text: str, name: str) -> tuple[SourceDocument | None, list[Problem]]:
    """Parse YAML text (one document) into a :class:`SourceDocument`."""
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        problems = _duplicates(node, name)
        if problems:
            return None, problems
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        message = " ".join(filter(None, [exc.context, exc.problem]))
        return None, [Problem(name, line, f"malformed YAML: {message}")]
    except yaml.YAMLError as exc:
        return None, [Problem(name, 1, f"malformed YAML: {exc}")]
    finally:
        loader.dispose()
    return SourceDocument(name, data, node, text), []
