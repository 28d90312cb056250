import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from planning import fieldtypes, requirements, services
from planning.models import RequirementSpec


def spec_of(plan, kind) -> RequirementSpec:
    return plan.requirements.get(kind=kind)


@pytest.mark.parametrize(
    ("definition", "raw", "value"),
    [
        ({"type": "integer"}, "32", 32),
        ({"type": "integer"}, " 10_000 ", 10000),
        ({"type": "number"}, "1.5", 1.5),
        ({"type": "number"}, 10, 10),
        ({"type": "percentage"}, "99.95%", "99.95%"),
        ({"type": "percentage"}, 99.9, "99.9%"),
        ({"type": "percentage"}, "99.999", "99.999%"),
        ({"type": "comparison", "unit": "ms"}, "<10", "<10"),
        ({"type": "comparison", "unit": "ms"}, "<= 10ms", "<=10"),
        ({"type": "comparison", "unit": "ms"}, 10, "10"),
        ({"type": "duration"}, "200ms", "200ms"),
        ({"type": "duration"}, "15 min", "15min"),
        ({"type": "duration", "units": ["years"]}, "7_years", "7_years"),
        ({"type": "duration", "units": ["years"]}, "7 years", "7_years"),
        ({"type": "window"}, "4h/month", "4h/month"),
        ({"type": "boolean"}, "yes", True),
        ({"type": "boolean"}, False, False),
        ({"type": "choice", "choices": ["RBAC", "ABAC"]}, "rbac", "RBAC"),
        ({"type": "multichoice", "choices": ["SOC2", "GDPR"]}, "gdpr, SOC2", ["GDPR", "SOC2"]),
        ({"type": "multichoice", "choices": ["SOC2", "GDPR"]}, ["SOC2", "SOC2"], ["SOC2"]),
        ({"type": "text"}, " 14+ ", "14+"),
        ({"type": "integer", "required": False}, "", None),
    ],
)
def test_values_are_read_as_the_guide_writes_them(definition, raw, value):
    assert fieldtypes.clean(definition, raw) == value


@pytest.mark.parametrize(
    ("definition", "raw", "message"),
    [
        ({"type": "integer"}, "3.5", "whole number"),
        ({"type": "integer"}, "-1", "0 or more"),
        ({"type": "integer"}, True, "whole number"),
        ({"type": "integer"}, "9" * 40, "too large"),
        ({"type": "number"}, "1e999999", "Enter a number"),
        ({"type": "number"}, "NaN", "Enter a number"),
        ({"type": "percentage"}, "99.9999%", "three decimals"),
        ({"type": "percentage"}, "101%", "100 or less"),
        ({"type": "percentage"}, "high", "percentage"),
        ({"type": "comparison", "unit": "ms"}, "<10s", "comparison"),
        ({"type": "comparison", "unit": "ms"}, "~10", "comparison"),
        ({"type": "duration"}, "soon", "duration"),
        ({"type": "duration"}, "10 parsecs", "duration"),
        ({"type": "duration", "units": ["ms", "s"]}, "8h", "units"),
        ({"type": "window"}, "4h", "per period"),
        ({"type": "window"}, "4h/fortnight", "per period"),
        ({"type": "boolean"}, "maybe", "yes or no"),
        ({"type": "choice", "choices": ["RBAC"]}, "root", "Choose one of"),
        ({"type": "multichoice", "choices": ["SOC2"]}, ["SOC2", "SOX"], "Choose one of"),
        ({"type": "multichoice", "choices": ["SOC2"]}, {"a": 1}, "list"),
        ({"type": "text", "max_length": 5}, "toolong", "at most 5"),
        ({"type": "text"}, ["a", "b"], "single value"),
        ({"type": "integer"}, "", "required"),
    ],
)
def test_bad_values_are_refused_with_a_message(definition, raw, message):
    with pytest.raises(fieldtypes.FieldError) as caught:
        fieldtypes.clean(definition, raw)
    assert message in str(caught.value)


@pytest.mark.parametrize("kind", ["infrastructure", "security", "performance"])
def test_export_then_import_gives_identical_data(plan, kind):
    spec = spec_of(plan, kind)
    exported = requirements.to_yaml(kind, spec.definition, spec.values)
    assert exported.startswith(f"{kind}:\n")
    assert requirements.parse_yaml(kind, spec.definition, exported) == spec.values


def test_the_export_reads_like_the_guide(plan):
    spec = spec_of(plan, "performance")
    exported = requirements.to_yaml("performance", spec.definition, spec.values)
    assert "  response_times:\n    api_p95: 200ms\n" in exported
    assert "    uptime: 99.95%\n    maintenance_window: 4h/month\n" in exported
    security = spec_of(plan, "security")
    exported = requirements.to_yaml("security", security.definition, security.values)
    assert "standards: [SOC2, GDPR, HIPAA]" in exported
    assert "audit_retention: 7_years" in exported


GOOD_PERFORMANCE = """performance:
  response_times:
    api_p95: 150ms
    ui_load: 1.5s
    database_query: 40ms
  throughput:
    requests_per_second: 12000
    concurrent_users: 2000
    data_processing_gbps: 2
  availability:
    uptime: 99.99%
    maintenance_window: 2h/month
    rto: 10min
    rpo: 1min
  scalability:
    horizontal_scaling: auto
    max_replicas: 80
    scale_up_threshold: 75%
    scale_down_threshold: 25%
"""


def test_importing_replaces_the_values(plan):
    services.requirement_import(spec=spec_of(plan, "performance"), text=GOOD_PERFORMANCE)
    values = spec_of(plan, "performance").values
    assert values["response_times"]["api_p95"] == "150ms"
    assert values["availability"]["uptime"] == "99.99%"


def test_import_reports_every_problem_with_its_line_and_saves_nothing(plan):
    spec = spec_of(plan, "performance")
    before = spec.values
    bad = (
        GOOD_PERFORMANCE.replace("api_p95: 150ms", "api_p95: fast")
        .replace("uptime: 99.99%", "uptime: 120%")
        .replace("max_replicas: 80", "max_replicas: 80\n    colour: blue")
    )
    with pytest.raises(requirements.RequirementsInvalid) as caught:
        services.requirement_import(spec=spec, text=bad)
    problems = {(p.field, p.line) for p in caught.value.problems}
    assert problems == {
        ("response_times.api_p95", 3),
        ("availability.uptime", 11),
        ("scalability.colour", 18),
    }
    assert spec_of(plan, "performance").values == before


def test_a_missing_field_is_reported_at_its_section(plan):
    text = GOOD_PERFORMANCE.replace("    rto: 10min\n", "")
    with pytest.raises(requirements.RequirementsInvalid) as caught:
        services.requirement_import(spec=spec_of(plan, "performance"), text=text)
    [problem] = caught.value.problems
    assert (problem.field, problem.message, problem.line) == (
        "availability.rto",
        "This field is required.",
        10,
    )


# Views


def save_url(plan, kind="performance"):
    return reverse("planning:requirement_save", args=[plan.pk, kind])


def form_data(plan, kind="performance", **changes):
    spec = spec_of(plan, kind)
    data = {}
    for section, name, field in requirements.fields(spec.definition):
        data[f"{section}.{name}"] = fieldtypes.as_form_value(field, spec.values[section][name])
    data.update(changes)
    return data


def test_an_editor_saves_the_performance_requirements(client_for, plan, editor):
    data = form_data(plan, **{"availability.uptime": "99.99%", "response_times.api_p95": "120 ms"})
    response = client_for(editor).post(save_url(plan), data)
    assert response.status_code == 302
    values = spec_of(plan, "performance").values
    assert values["availability"]["uptime"] == "99.99%"
    assert values["response_times"]["api_p95"] == "120ms"


def test_one_invalid_value_shows_its_error_and_saves_nothing(client_for, plan, editor):
    before = spec_of(plan, "performance").values
    data = form_data(
        plan, **{"availability.uptime": "99.99%", "throughput.concurrent_users": "lots"}
    )
    response = client_for(editor).post(save_url(plan), data)
    assert response.status_code == 400
    assert response.context["form"].errors["throughput.concurrent_users"] == [
        "Enter a whole number."
    ]
    assert "Nothing was saved" in response.content.decode()
    assert spec_of(plan, "performance").values == before


def test_security_checkboxes_and_yes_no_are_saved(client_for, plan, editor):
    data = form_data(plan, "security", **{"encryption.quantum_ready": "false"})
    data["compliance.standards"] = ["GDPR", "ISO27001"]
    client_for(editor).post(save_url(plan, "security"), data)
    values = spec_of(plan, "security").values
    assert values["encryption"]["quantum_ready"] is False
    assert values["compliance"]["standards"] == ["GDPR", "ISO27001"]


def test_a_viewer_reads_the_values_without_a_form(client_for, plan, viewer):
    body = (
        client_for(viewer)
        .get(reverse("planning:requirements", args=[plan.pk, "infrastructure"]))
        .content.decode()
    )
    assert "Cpu cores" not in body and "CPU cores" in body
    assert "32 cores" in body
    assert reverse("planning:requirement_save", args=[plan.pk, "infrastructure"]) not in body
    assert "Import from YAML" not in body


def test_the_export_downloads_yaml(client_for, plan, viewer):
    response = client_for(viewer).get(
        reverse("planning:requirement_export", args=[plan.pk, "infrastructure"])
    )
    assert response["Content-Type"] == "application/yaml; charset=utf-8"
    assert (
        'filename="checkout-service-rollout-infrastructure-requirements.yaml"'
        in response["Content-Disposition"]
    )
    assert response.content.decode().startswith("infrastructure:\n  compute:\n    cpu_cores: 32\n")


def import_url(plan, kind="performance"):
    return reverse("planning:requirement_import", args=[plan.pk, kind])


def test_an_upload_is_imported(client_for, plan, editor):
    upload = SimpleUploadedFile("perf.yaml", GOOD_PERFORMANCE.encode(), "application/yaml")
    response = client_for(editor).post(import_url(plan), {"file": upload})
    assert response.status_code == 302
    assert spec_of(plan, "performance").values["throughput"]["concurrent_users"] == 2000


def test_a_paste_with_errors_lists_them_by_line(client_for, plan, editor):
    before = spec_of(plan, "performance").values
    text = GOOD_PERFORMANCE.replace("rpo: 1min", "rpo: yesterday")
    response = client_for(editor).post(import_url(plan), {"text": text})
    body = response.content.decode()
    assert response.status_code == 400
    assert "Nothing was imported." in body
    assert "Line 14: <code>availability.rpo</code>: Enter a duration" in body
    assert spec_of(plan, "performance").values == before


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"file": SimpleUploadedFile("x.exe", b"MZ", "application/octet-stream")},
            "Upload a .yaml",
        ),
        ({"file": SimpleUploadedFile("x.yaml", b"\xff\xfe\x00", "application/yaml")}, "not UTF-8"),
        ({"text": ""}, "Choose a YAML file or paste YAML."),
        ({"text": "security:\n  encryption: {}\n"}, "must have one top-level key"),
    ],
)
def test_bad_imports_are_refused(client_for, plan, editor, files, message):
    before = spec_of(plan, "performance").values
    response = client_for(editor).post(import_url(plan), files)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert spec_of(plan, "performance").values == before


def test_an_oversized_upload_is_refused(client_for, plan, editor, settings):
    big = SimpleUploadedFile("big.yaml", b"# " + b"x" * (2 * 1024 * 1024 + 1), "application/yaml")
    response = client_for(editor).post(import_url(plan), {"file": big})
    assert response.status_code == 400
    assert "larger than 2 MB" in response.content.decode()


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("a: no", {"a": "no"}),
        ("a: on", {"a": "on"}),
        ("a: 010", {"a": "010"}),
        ("a: 1:30", {"a": "1:30"}),
        ("a: .inf", {"a": ".inf"}),
        ("a: true", {"a": True}),
        ("a: 10_000", {"a": 10000}),
        ("a: 0.5", {"a": 0.5}),
        ("a: ~", {"a": None}),
    ],
)
def test_plain_values_are_read_as_yaml_1_2_reads_them(text, value):
    from planning import yamlsafe

    assert yamlsafe.load(text).data == value


def test_a_huge_base_60_number_is_just_text_and_refused(plan):
    spec = plan.requirements.get(kind="performance")
    text = GOOD_PERFORMANCE.replace("max_replicas: 80", "max_replicas: 1" + ":0" * 3000)
    with pytest.raises(requirements.RequirementsInvalid) as caught:
        services.requirement_import(spec=spec, text=text)
    assert "scalability.max_replicas: This value is too long." in str(caught.value)


def test_text_that_yaml_would_turn_into_a_number_must_be_quoted(plan):
    spec = plan.requirements.get(kind="infrastructure")
    exported = requirements.to_yaml("infrastructure", spec.definition, spec.values)
    with pytest.raises(requirements.RequirementsInvalid) as caught:
        services.requirement_import(
            spec=spec, text=exported.replace("version: 14+", "version: 14.10")
        )
    assert "Write this value in quotes" in str(caught.value)
    services.requirement_import(
        spec=spec, text=exported.replace("version: 14+", 'version: "14.10"')
    )
    assert plan.requirements.get(kind="infrastructure").values["database"]["version"] == "14.10"


def test_small_numbers_survive_the_round_trip(plan):
    spec = plan.requirements.get(kind="infrastructure")
    values = {**spec.values, "network": {**spec.values["network"], "bandwidth_gbps": "0.0001"}}
    spec = services.requirement_update(spec=spec, values=values)
    exported = requirements.to_yaml("infrastructure", spec.definition, spec.values)
    assert "bandwidth_gbps: 0.0001" in exported
    assert requirements.parse_yaml("infrastructure", spec.definition, exported) == spec.values
    with pytest.raises(requirements.RequirementsInvalid, match="at most 4 decimals"):
        services.requirement_update(
            spec=spec,
            values={**values, "network": {**values["network"], "bandwidth_gbps": "0.00001"}},
        )


@pytest.mark.parametrize("digits", ["\u0661\u0662\u0663", "\u0661\u0660%"])
def test_digits_of_other_scripts_are_refused(digits):
    with pytest.raises(fieldtypes.FieldError):
        fieldtypes.clean({"type": "percentage"}, digits)
