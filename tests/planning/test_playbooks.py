import time

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from planning import requirements, services, yamlsafe
from planning.models import Playbook, RequirementSpec
from planning.selectors import default_playbook

GUIDE = settings.DEFAULT_PLAYBOOK_PATH.read_text()


def test_the_default_playbook_is_loaded_by_migrate_and_holds_the_whole_guide(db):
    playbook = default_playbook()
    assert (playbook.name, playbook.revision) == ("TrustStram v4.4", 1)
    guide = playbook.definition
    assert [p["title"] for p in guide["phases"]] == [
        "Assessment & Requirements",
        "Architecture & Design",
        "Implementation Planning",
        "Go-Live Preparation",
    ]
    categories = [d["category"] for d in guide["documents"]]
    assert (categories.count("core"), categories.count("environment")) == (6, 4)
    assert categories.count("advanced") == 4
    assert [r["kind"] for r in guide["requirements"]] == [
        "infrastructure",
        "security",
        "performance",
    ]
    assert [(c["key"], len(c["items"])) for c in guide["checklists"]] == [
        ("infrastructure", 10),
        ("security", 10),
        ("application", 10),
        ("documentation", 5),
    ]
    assert {"text": "CDN configured", "conditional": True} in guide["checklists"][0]["items"]
    weights = {c["title"]: c["weight"] for c in guide["readiness"]["categories"]}
    assert weights == {
        "Infrastructure": 25,
        "Security": 25,
        "Application": 20,
        "Monitoring": 15,
        "Documentation": 10,
        "Team Readiness": 5,
    }
    assert [b["min"] for b in guide["readiness"]["bands"]] == [90, 80, 70, 0]
    roles = {r["title"]: r.get("conditional", False) for r in guide["approvals"]["roles"]}
    assert roles == {
        "Technical Lead": False,
        "Security Officer": False,
        "Operations Manager": False,
        "Business Owner": False,
        "Compliance Officer": True,
    }
    assert [c["email"] for c in guide["support_contacts"]] == [
        "planning@truststream.ai",
        "architecture@truststream.ai",
        "security@truststream.ai",
        "performance@truststream.ai",
    ]


def test_every_field_of_the_guides_templates_is_there_with_its_default(db):
    template = default_playbook().definition["requirements"][0]
    defaults = requirements.defaults(template)
    assert defaults["compute"] == {
        "cpu_cores": 32,
        "memory_gb": 128,
        "storage_gb": 1000,
        "gpu_count": 2,
    }
    assert defaults["network"] == {
        "bandwidth_gbps": 10,
        "latency_ms": "<10",
        "availability": "99.9%",
    }
    assert defaults["database"]["version"] == "14+"


def test_loading_the_same_file_again_changes_nothing(db, tmp_path, capsys):
    path = tmp_path / "guide.yaml"
    path.write_text(GUIDE)
    call_command("load_playbook", str(path))
    assert "already loaded as revision 1; nothing changed" in capsys.readouterr().out
    assert Playbook.objects.count() == 1


def test_a_changed_file_is_a_new_revision(db, tmp_path, capsys):
    path = tmp_path / "guide.yaml"
    path.write_text(GUIDE.replace("Team training", "Team training and dry run"))
    call_command("load_playbook", str(path))
    assert "Loaded TrustStram v4.4 as revision 2." in capsys.readouterr().out
    assert Playbook.objects.get(revision=1).definition["phases"][3]["groups"][0]["tasks"][1] == (
        "Team training"
    )


def broken(old: str, new: str) -> str:
    assert old in GUIDE
    return GUIDE.replace(old, new, 1)


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


MISTAKES = [
    (
        "an unknown key",
        broken("    week: 2\n", "    week: 2\n    colour: red\n"),
        "colour: red",
        "unknown key",
    ),
    (
        "a wrong type",
        broken("    week: 3\n", "    week: three\n"),
        "week: three",
        "must be a whole number",
    ),
    (
        "a bad default",
        broken('default: "99.95%"', 'default: "199.95%"'),
        '"199.95%"',
        "100 or less",
    ),
    (
        "an unknown field type",
        broken("{label: Latency, type: comparison", "{label: Latency, type: fuzzy"),
        "type: fuzzy",
        "must be one of",
    ),
    (
        "weights that do not add up",
        broken("weight: 5}", "weight: 15}"),
        "  categories:",
        "add up to 100, not 110",
    ),
    (
        "a missing key",
        broken("    title: Go-Live Preparation\n", ""),
        "  - number: 4",
        "missing key 'title'",
    ),
    (
        "an unknown section",
        broken("covers: [plan]", "covers: [everything]"),
        "covers: [everything]",
        "'everything' is not a section",
    ),
    (
        "a duplicate key",
        broken(
            "key: security\n    title: Security Validation",
            "key: application\n    title: Security Validation",
        ),
        "key: application\n    title: Application Validation",  # the second use
        "'application' is used twice",
    ),
    ("bad YAML", broken("phases:\n", "phases: [\n"), "phases: [", "not valid YAML"),
]


@pytest.mark.parametrize(
    ("name", "text", "needle", "message"), MISTAKES, ids=[m[0] for m in MISTAKES]
)
def test_each_mistake_is_reported_at_its_line_and_nothing_is_loaded(
    db, tmp_path, capsys, name, text, needle, message
):
    path = tmp_path / "playbook.yaml"
    path.write_text(text)
    with pytest.raises(CommandError, match="nothing was loaded"):
        call_command("load_playbook", str(path))
    errors = capsys.readouterr().err
    assert message in errors
    if name != "bad YAML":  # the parser names where it noticed, which may be further on
        assert f"line {line_of(text, needle)}" in errors
    assert Playbook.objects.count() == 1


def test_every_problem_is_reported_at_once(db):
    text = broken("    week: 3\n", "    week: three\n").replace("weight: 5}", "weight: 15}")
    with pytest.raises(services.PlaybookInvalid) as caught:
        services.playbook_load(text=text)
    assert len(caught.value.problems) == 2


def test_a_missing_file_is_a_clear_error(db):
    with pytest.raises(CommandError, match="No such file"):
        call_command("load_playbook", "/nonexistent/playbook.yaml")


# Hostile YAML: refused quickly, with a message, changing nothing.

BILLION_LAUGHS = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]"
            for i in range(8)
        ),
    ]
)
HOSTILE = {
    "billion laughs": (BILLION_LAUGHS, "anchors and aliases"),
    "python object": ("performance: !!python/object/apply:os.system ['id']", "tags"),
    "deep nesting": ("performance: " + "[" * 200 + "]" * 200, "nested too deeply"),
    "huge input": ("performance:\n" + "  # padding\n" * 300_000, "larger than"),
    "many values": ("performance: [" + "1," * 250_000 + "1]", "too many values"),
    "wrong types": ("performance: [1, 2, 3]", "must be a mapping of sections"),
    "unknown keys": ("performance:\n  lasers: {power: 11}", "unknown section"),
    "two documents": ("performance: {}\n---\nperformance: {}\n", "not valid YAML"),
    "duplicate keys": ("performance:\n  throughput: {}\n  throughput: {}\n", "appears twice"),
    "not text": (b"\x00\xff\xfe\xfd", "not UTF-8"),
    "empty": ("", "empty"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_yaml_is_refused_quickly_and_changes_nothing(plan, name):
    text, message = HOSTILE[name]
    spec = plan.requirements.get(kind="performance")
    started = time.monotonic()
    with pytest.raises(requirements.RequirementsInvalid) as caught:
        services.requirement_import(spec=spec, text=text)
    assert time.monotonic() - started < 5, "refusing must not take long"
    assert message in str(caught.value)
    assert RequirementSpec.objects.get(pk=spec.pk).values == spec.values


def test_the_loader_keeps_lines_for_nested_values():
    document = yamlsafe.load("a:\n  b:\n    - 1\n    - {c: 2}\n")
    assert document.data == {"a": {"b": [1, {"c": 2}]}}
    assert document.line(("a", "b", 1, "c")) == 4
    assert document.line(("a", "missing")) == 1
