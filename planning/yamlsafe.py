"""Parse YAML from users and playbook files safely, keeping each value's line number.

Only plain data is accepted: mappings with string keys, sequences and scalars. Anchors and
aliases are refused outright (no document we read needs them, and they are how a "billion
laughs" document multiplies itself), as are tags. Size, depth and node count are bounded, and
the bounds are checked on the event stream before any Python object is built.
"""

import re
from dataclasses import dataclass

import yaml

try:  # libyaml when available: the same events, faster
    from yaml import CSafeLoader as BaseLoader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as BaseLoader

MAX_BYTES = 2 * 1024 * 1024
MAX_DEPTH = 20
MAX_NODES = 200_000
MAX_SCALAR = 10_000


class SafeLoader(BaseLoader):
    """Plain values are read as YAML 1.2 reads them, not as YAML 1.1 does: `no` and `on` stay
    text, `010` is not octal, `1:30` is not a base-60 number, `.inf` is not a float."""

    yaml_implicit_resolvers: dict = {}


for _tag, _pattern, _first in (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^[-+]?(?:0|[1-9][0-9_]*)$", "-+0123456789"),
    ("float", r"^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]+(?:[eE][-+]?[0-9]+)?$", "-+.0123456789"),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
):
    SafeLoader.add_implicit_resolver(
        f"tag:yaml.org,2002:{_tag}", re.compile(_pattern, re.ASCII), list(_first)
    )

Path = tuple[str | int, ...]


class YamlError(ValueError):
    """A document we refuse, with the 1-based line where the problem is (None: the whole)."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@dataclass
class Document:
    data: object
    lines: dict[Path, int]

    def line(self, path: Path) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)


def _check_events(text: str, *, max_depth: int, max_nodes: int) -> None:
    depth = nodes = 0
    for event in yaml.parse(text, Loader=SafeLoader):
        line = event.start_mark.line + 1 if event.start_mark else None
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise YamlError("anchors and aliases (& and *) are not allowed", line)
        if isinstance(event, yaml.ScalarEvent) and len(event.value) > MAX_SCALAR:
            raise YamlError(f"a value is longer than {MAX_SCALAR} characters", line)
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > max_nodes:
                raise YamlError(f"too many values (more than {max_nodes})", line)
            tag = getattr(event, "tag", None)
            if tag:
                raise YamlError(f"tags such as {tag} are not allowed", line)
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > max_depth:
                raise YamlError(f"nested too deeply (more than {max_depth} levels)", line)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _walk(node, path: Path, lines: dict[Path, int], constructor) -> object:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[str, object] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlError("keys must be plain text", key_node.start_mark.line + 1)
            key = str(constructor.construct_object(key_node))
            if key in result:
                raise YamlError(f"{key!r} appears twice", key_node.start_mark.line + 1)
            result[key] = _walk(value_node, (*path, key), lines, constructor)
            # A mapping's entry is where its key is written, also when its value is nested.
            lines[(*path, key)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, (*path, i), lines, constructor) for i, item in enumerate(node.value)]
    return constructor.construct_object(node)


def load(
    text: str | bytes,
    *,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    max_nodes: int = MAX_NODES,
) -> Document:
    """Parse one YAML document into plain data and the line of every value, or raise."""
    if isinstance(text, bytes):
        if len(text) > max_bytes:
            raise YamlError(f"the document is larger than {max_bytes // 1024} KB")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise YamlError("the document is not UTF-8 text") from None
    if len(text.encode("utf-8")) > max_bytes:
        raise YamlError(f"the document is larger than {max_bytes // 1024} KB")
    try:
        _check_events(text, max_depth=max_depth, max_nodes=max_nodes)
        loader = SafeLoader(text)
        try:
            root = loader.get_single_node()
            if root is None:
                raise YamlError("the document is empty", 1)
            lines: dict[Path, int] = {}
            data = _walk(root, (), lines, loader)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise YamlError(
            f"not valid YAML: {error.problem or error.context}",
            mark.line + 1 if mark else None,
        ) from None
    except yaml.YAMLError as error:
        raise YamlError(f"not valid YAML: {error}") from None
    except (ValueError, TypeError, OverflowError) as error:
        if isinstance(error, YamlError):
            raise
        raise YamlError(f"a value could not be read: {error}") from None
    return Document(data=data, lines=lines)
