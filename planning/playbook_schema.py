"""The shape a playbook must have, checked with every mistake reported at its line.

`check(document)` returns a list of `Problem`s (empty when the playbook is valid); the loader
refuses the whole playbook when there is any.
"""

from dataclasses import dataclass

from planning import fieldtypes
from planning.yamlsafe import Document, Path

SCHEMA_VERSION = 1
ENVIRONMENTS = ("development", "staging", "production")
DOCUMENT_CATEGORIES = ("core", "environment", "advanced")
SECTION_NAMES = (
    "plan",
    "phases",
    "documents",
    "requirements.infrastructure",
    "requirements.security",
    "requirements.performance",
    "checklists.infrastructure",
    "checklists.security",
    "checklists.application",
    "checklists.documentation",
    "readiness",
    "support_contacts",
)


@dataclass(frozen=True)
class Problem:
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "playbook"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class _Checker:
    def __init__(self, document: Document):
        self.document = document
        self.problems: list[Problem] = []

    def problem(self, path: Path, message: str) -> None:
        dotted = ".".join(str(part) for part in path)
        self.problems.append(Problem(self.document.line(path), dotted, message))

    def mapping(self, value, path: Path, *, required: dict, optional: dict | None = None):
        """Check a mapping's keys and each value's type; return it, or None if not a mapping."""
        optional = optional or {}
        if not isinstance(value, dict):
            self.problem(path, "must be a mapping of keys to values")
            return None
        for key in value:
            if key not in required and key not in optional:
                known = ", ".join([*required, *optional])
                self.problem((*path, key), f"unknown key (expected one of: {known})")
        for key, kind in required.items():
            if key not in value:
                self.problem(path, f"missing key {key!r}")
            else:
                self.kind(value[key], (*path, key), kind)
        for key, kind in optional.items():
            if key in value:
                self.kind(value[key], (*path, key), kind)
        return value

    def kind(self, value, path: Path, kind) -> bool:
        names = {str: "text", int: "a whole number", bool: "true or false", list: "a list"}
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            self.problem(path, "must be a whole number")
            return False
        if kind is str and (not isinstance(value, str) or not value.strip()):
            self.problem(path, "must be non-empty text")
            return False
        if kind in (bool, list) and not isinstance(value, kind):
            self.problem(path, f"must be {names[kind]}")
            return False
        return True

    def sequence(self, value, path: Path, *, minimum: int = 1) -> list:
        if not isinstance(value, list):
            self.problem(path, "must be a list")
            return []
        if len(value) < minimum:
            self.problem(path, f"must have at least {minimum} entries")
        return value

    def unique(self, values: list, path: Path, field: str) -> None:
        seen = set()
        for index, entry in enumerate(values):
            if isinstance(entry, dict) and isinstance(entry.get(field), str | int):
                if entry[field] in seen:
                    self.problem((*path, index, field), f"{entry[field]!r} is used twice")
                seen.add(entry[field])


def _check_phases(c: _Checker, phases) -> None:
    path = ("phases",)
    phases = c.sequence(phases, path)
    for index, phase in enumerate(phases):
        phase = c.mapping(
            phase,
            (*path, index),
            required={"number": int, "title": str, "week": int, "groups": list},
        )
        if phase is None:
            continue
        if isinstance(phase.get("week"), int) and not 1 <= phase["week"] <= 4:
            c.problem((*path, index, "week"), "must be a week from 1 to 4")
        for g, group in enumerate(c.sequence(phase.get("groups"), (*path, index, "groups"))):
            group = c.mapping(
                group, (*path, index, "groups", g), required={"title": str, "tasks": list}
            )
            if group is None:
                continue
            tasks_path = (*path, index, "groups", g, "tasks")
            for t, task in enumerate(c.sequence(group.get("tasks"), tasks_path)):
                c.kind(task, (*tasks_path, t), str)
    if [p.get("number") for p in phases if isinstance(p, dict)] != [1, 2, 3, 4]:
        c.problem(path, "must be the four phases numbered 1, 2, 3, 4 in order")
    c.unique(phases, path, "number")


def _check_documents(c: _Checker, documents) -> None:
    path = ("documents",)
    documents = c.sequence(documents, path)
    for index, document in enumerate(documents):
        document = c.mapping(
            document,
            (*path, index),
            required={"key": str, "title": str, "category": str},
            optional={"description": str, "environment": str},
        )
        if document is None:
            continue
        if document.get("category") not in DOCUMENT_CATEGORIES:
            c.problem(
                (*path, index, "category"), f"must be one of {', '.join(DOCUMENT_CATEGORIES)}"
            )
        if "environment" in document and document["environment"] not in ENVIRONMENTS:
            c.problem((*path, index, "environment"), f"must be one of {', '.join(ENVIRONMENTS)}")
    c.unique(documents, path, "key")


FIELD_KEYS = {
    "type": str,
    "default": object,
    "unit": str,
    "units": list,
    "min": object,
    "max": object,
    "choices": list,
    "required": bool,
    "help": str,
    "label": str,
    "max_length": int,
}


def _check_field(c: _Checker, field, path: Path) -> None:
    if not isinstance(field, dict):
        c.problem(path, "must be a field definition such as {type: integer, default: 1}")
        return
    for key in field:
        if key not in FIELD_KEYS:
            c.problem((*path, key), f"unknown key (expected one of: {', '.join(FIELD_KEYS)})")
    kind = field.get("type")
    if kind not in fieldtypes.TYPES:
        c.problem((*path, "type"), f"must be one of: {', '.join(fieldtypes.TYPES)}")
        return
    if kind in ("choice", "multichoice"):
        choices = field.get("choices")
        if not isinstance(choices, list) or not choices:
            c.problem(path, f"a {kind} field needs a non-empty list of choices")
            return
    for key in ("min", "max"):
        if key in field and (
            isinstance(field[key], bool) or not isinstance(field[key], int | float)
        ):
            c.problem((*path, key), "must be a number")
            return
    if "default" not in field:
        c.problem(path, "missing key 'default'")
        return
    try:
        fieldtypes.clean(field, field["default"])
    except fieldtypes.FieldError as error:
        c.problem((*path, "default"), f"is not a valid {kind}: {error}")


def _check_requirements(c: _Checker, requirements) -> None:
    path = ("requirements",)
    requirements = c.mapping(
        requirements, path, required={"infrastructure": dict, "security": dict, "performance": dict}
    )
    for kind, template in (requirements or {}).items():
        template = c.mapping(template, (*path, kind), required={"title": str, "sections": dict})
        sections = (template or {}).get("sections")
        if not isinstance(sections, dict):
            continue
        for section, fields in sections.items():
            if not isinstance(fields, dict) or not fields:
                c.problem((*path, kind, "sections", section), "must map field names to definitions")
                continue
            for name, field in fields.items():
                _check_field(c, field, (*path, kind, "sections", section, name))


def _check_checklists(c: _Checker, checklists) -> None:
    path = ("checklists",)
    checklists = c.sequence(checklists, path)
    for index, checklist in enumerate(checklists):
        checklist = c.mapping(
            checklist, (*path, index), required={"key": str, "title": str, "items": list}
        )
        if checklist is None:
            continue
        for i, item in enumerate(c.sequence(checklist.get("items"), (*path, index, "items"))):
            c.mapping(
                item,
                (*path, index, "items", i),
                required={"text": str},
                optional={"critical": bool, "conditional": bool},
            )
    c.unique(checklists, path, "key")


def _check_readiness(c: _Checker, readiness) -> None:
    path = ("readiness",)
    readiness = c.mapping(readiness, path, required={"categories": list, "bands": list})
    if readiness is None:
        return
    categories = c.sequence(readiness.get("categories"), (*path, "categories"))
    for index, category in enumerate(categories):
        c.mapping(
            category,
            (*path, "categories", index),
            required={"key": str, "title": str, "weight": int},
            optional={"checklist": str},
        )
    for index, category in enumerate(categories):
        weight = category.get("weight") if isinstance(category, dict) else None
        if isinstance(weight, int) and not isinstance(weight, bool) and weight < 1:
            c.problem((*path, "categories", index, "weight"), "must be 1 or more")
    weights = [cat.get("weight") for cat in categories if isinstance(cat, dict)]
    if all(isinstance(w, int) for w in weights) and sum(weights) != 100:
        c.problem((*path, "categories"), f"weights must add up to 100, not {sum(weights)}")
    c.unique(categories, (*path, "categories"), "key")
    bands = c.sequence(readiness.get("bands"), (*path, "bands"))
    for index, band in enumerate(bands):
        c.mapping(band, (*path, "bands", index), required={"min": int, "key": str, "title": str})
    minimums = [band.get("min") for band in bands if isinstance(band, dict)]
    if minimums and (minimums != sorted(minimums, reverse=True) or minimums[-1] != 0):
        c.problem((*path, "bands"), "bands must go from the highest minimum down to 0")


def _check_approvals(c: _Checker, approvals) -> None:
    path = ("approvals",)
    approvals = c.mapping(approvals, path, required={"roles": list})
    if approvals is None:
        return
    roles = c.sequence(approvals.get("roles"), (*path, "roles"))
    for index, role in enumerate(roles):
        role = c.mapping(
            role,
            (*path, "roles", index),
            required={"key": str, "title": str, "approves": str, "covers": list},
            optional={"conditional": bool},
        )
        for s, section in enumerate((role or {}).get("covers") or []):
            valid = section in SECTION_NAMES or (
                isinstance(section, str)
                and section.startswith("phases.")
                and section.removeprefix("phases.") in ("1", "2", "3", "4")
            )
            if not valid:
                c.problem((*path, "roles", index, "covers", s), f"{section!r} is not a section")
    c.unique(roles, (*path, "roles"), "key")


def _check_contacts(c: _Checker, contacts) -> None:
    path = ("support_contacts",)
    for index, contact in enumerate(c.sequence(contacts, path, minimum=0)):
        contact = c.mapping(
            contact, (*path, index), required={"topic": str, "name": str, "email": str}
        )
        if contact and isinstance(contact.get("email"), str) and "@" not in contact["email"]:
            c.problem((*path, index, "email"), "must be an email address")


def check(document: Document) -> list[Problem]:
    c = _Checker(document)
    root = c.mapping(
        document.data,
        (),
        required={
            "schema": int,
            "key": str,
            "name": str,
            "version": str,
            "phases": list,
            "documents": list,
            "requirements": dict,
            "checklists": list,
            "readiness": dict,
            "approvals": dict,
            "support_contacts": list,
        },
        optional={"source": str},
    )
    if root is None:
        return c.problems
    if root.get("schema") not in (None, SCHEMA_VERSION) and isinstance(root.get("schema"), int):
        c.problem(("schema",), f"this application reads schema {SCHEMA_VERSION}")
    if isinstance(root.get("key"), str) and not root["key"].replace("-", "").isalnum():
        c.problem(("key",), "use letters, digits and hyphens only")
    checks = {
        "phases": _check_phases,
        "documents": _check_documents,
        "requirements": _check_requirements,
        "checklists": _check_checklists,
        "readiness": _check_readiness,
        "approvals": _check_approvals,
        "support_contacts": _check_contacts,
    }
    for key, check_section in checks.items():
        if key in root:
            check_section(c, root[key])
    return c.problems


def normalise(data: dict) -> dict:
    """The checked playbook as stored: the requirement templates become lists, because their
    order is the guide's and a JSON object in Postgres (jsonb) keeps no order."""
    return {
        **data,
        "requirements": [
            {
                "kind": kind,
                "title": template["title"],
                "sections": [
                    {
                        "key": section,
                        "fields": [{"key": name, **field} for name, field in fields.items()],
                    }
                    for section, fields in template["sections"].items()
                ],
            }
            for kind, template in data["requirements"].items()
        ],
    }
