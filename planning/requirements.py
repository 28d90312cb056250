"""Requirement templates: cleaning values, and YAML in the guide's own shape.

Pure functions over a template `definition` ({"sections": [{"key": section, "fields":
[{"key": field, "type": ..., ...}]}]}, in the guide's order) and a `values` mapping
({section: {field: value}}); the writes are in `services`.
"""

from dataclasses import dataclass

import yaml

from planning import fieldtypes, yamlsafe

MAX_IMPORT_BYTES = 2 * 1024 * 1024
# A template has a few dozen fields; a document with far more values than that is refused
# while it is being read, before it costs anything to check field by field.
MAX_IMPORT_VALUES = 2_000


@dataclass(frozen=True)
class FieldProblem:
    field: str  # "section.field", or "" for the document as a whole
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.field}: {self.message}" if self.field else f"{where}{self.message}"


class RequirementsInvalid(ValueError):
    def __init__(self, problems: list[FieldProblem]):
        super().__init__("; ".join(map(str, problems)))
        self.problems = problems


def label(name: str, field: dict) -> str:
    return field.get("label") or name.replace("_", " ").capitalize()


def fields(definition: dict):
    """(section, name, field definition) for every field, in the template's order."""
    for section in definition["sections"]:
        for field in section["fields"]:
            yield section["key"], field["key"], field


def _sections(definition: dict) -> dict[str, dict[str, dict]]:
    return {
        section["key"]: {field["key"]: field for field in section["fields"]}
        for section in definition["sections"]
    }


def defaults(definition: dict) -> dict:
    values: dict[str, dict] = {}
    for section, name, field in fields(definition):
        values.setdefault(section, {})[name] = fieldtypes.clean(field, field.get("default"))
    return values


def clean_values(definition: dict, raw: dict, lines=None) -> dict:
    """Clean every field of `raw` ({section: {field: raw value}}), or raise with every problem.

    `lines(path)` gives the YAML line of a path when the values come from a document.
    """
    line = lines or (lambda path: None)
    problems: list[FieldProblem] = []
    values: dict[str, dict] = {}
    sections = _sections(definition)
    for section in raw:
        if section not in sections:
            problems.append(
                FieldProblem(
                    section,
                    "unknown section (expected one of: " + ", ".join(sections) + ")",
                    line((section,)),
                )
            )
        elif not isinstance(raw[section], dict):
            problems.append(FieldProblem(section, "must be a mapping of fields", line((section,))))
    for section, section_fields in sections.items():
        given = raw.get(section) if isinstance(raw.get(section), dict) else {}
        for name in given:
            if name not in section_fields:
                problems.append(
                    FieldProblem(f"{section}.{name}", "unknown field", line((section, name)))
                )
        for name, field in section_fields.items():
            try:
                value = fieldtypes.clean(field, given.get(name))
            except fieldtypes.FieldError as error:
                problems.append(
                    FieldProblem(f"{section}.{name}", str(error), line((section, name)))
                )
            else:
                values.setdefault(section, {})[name] = value
    if problems:
        raise RequirementsInvalid(problems)
    return values


def parse_yaml(kind: str, definition: dict, text: str | bytes) -> dict:
    """Read a document in the guide's shape (`performance:` then sections) into clean values."""
    try:
        document = yamlsafe.load(text, max_bytes=MAX_IMPORT_BYTES, max_nodes=MAX_IMPORT_VALUES)
    except yamlsafe.YamlError as error:
        raise RequirementsInvalid([FieldProblem("", error.message, error.line)]) from None
    data = document.data
    if not isinstance(data, dict) or list(data) != [kind]:
        raise RequirementsInvalid(
            [FieldProblem("", f"the document must have one top-level key, {kind!r}", 1)]
        )
    if not isinstance(data[kind], dict):
        raise RequirementsInvalid(
            [FieldProblem(kind, "must be a mapping of sections", document.line((kind,)))]
        )
    return clean_values(definition, data[kind], lambda path: document.line((kind, *path)))


def to_yaml(kind: str, definition: dict, values: dict) -> str:
    """The values as YAML in the guide's shape; `parse_yaml` reads it back to the same values."""
    body: dict[str, dict] = {}
    for section, name, _ in fields(definition):
        body.setdefault(section, {})[name] = values.get(section, {}).get(name)
    return yaml.dump({kind: body}, Dumper=_GuideDumper, sort_keys=False, allow_unicode=True)


class _GuideDumper(yaml.SafeDumper):
    """Block mappings with lists written inline, as the guide writes `[SOC2, GDPR, HIPAA]`."""

    def represent_list(self, data):
        return self.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


_GuideDumper.add_representer(list, _GuideDumper.represent_list)
