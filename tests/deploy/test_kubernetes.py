"""The Kubernetes manifests: the example overlay renders with `kubectl kustomize`, every object
is valid for the Kubernetes versions we support, and the rendered objects keep the rules a
deployment depends on (docs/deploy.md)."""

import copy
import re
import subprocess

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import all_versions

from tests.deploy.tools import ROOT, tool

KUSTOMIZE = ROOT / "deploy" / "kubernetes"
OVERLAY = KUSTOMIZE / "overlays" / "example"
SECRET_EXAMPLE = OVERLAY / "secret.example.yaml"
# The oldest and the newest Kubernetes release kubernetes-validate has schemas for: a field that
# one of them lacks fails.
KUBERNETES_VERSIONS = (all_versions()[0], kubernetes_validate.latest_version())
WORKLOAD_KINDS = {"Deployment", "Job"}
# Settings that must only ever come from a Secret.
SECRET_SETTINGS = {
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "PACKET_SIGNING_KEY",
    "PACKET_SIGNING_CERT",
}
# A password in a URL, or a PEM block: a secret value whatever the setting is called.
SECRET_LOOKING = re.compile(r"://[^/\s:@]+:[^/\s@]+@|-----BEGIN ")


def render(path) -> list[dict]:
    result = subprocess.run(
        [tool("kubectl"), "kustomize", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [obj for obj in yaml.safe_load_all(result.stdout) if obj]


@pytest.fixture(scope="module")
def objects() -> list[dict]:
    return render(OVERLAY)


def of_kind(objects, kind: str) -> list[dict]:
    return [obj for obj in objects if obj["kind"] == kind]


def named(objects, kind: str, name: str) -> dict:
    (obj,) = [o for o in of_kind(objects, kind) if o["metadata"]["name"] == name]
    return obj


def workloads(objects) -> list[dict]:
    return [obj for obj in objects if obj["kind"] in WORKLOAD_KINDS]


def container(workload: dict) -> dict:
    (only,) = workload["spec"]["template"]["spec"]["containers"]
    return only


def settings_of(objects) -> dict[str, str]:
    (config_map,) = of_kind(objects, "ConfigMap")
    return config_map["data"]


def secret_problems(objects) -> list[str]:
    """Every place where the rendered manifests hold a secret value instead of a reference."""
    problems = []
    for obj in objects:
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] == "Secret":
            problems.append(f"{where} puts secret values into the manifests")
        for name, value in (obj.get("data") or {}).items():
            if name in SECRET_SETTINGS or SECRET_LOOKING.search(str(value)):
                problems.append(f"{where} holds {name}")
        if obj["kind"] in WORKLOAD_KINDS:
            for env in container(obj).get("env", []):
                if "value" in env and (
                    env["name"] in SECRET_SETTINGS or SECRET_LOOKING.search(env["value"])
                ):
                    problems.append(f"{where} sets {env['name']} in plain text")
    return problems


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_rendered_object_is_valid_kubernetes(objects, version):
    kinds = set()
    for obj in objects:
        kubernetes_validate.validate(obj, version, strict=True)
        kinds.add(obj["kind"])
    assert {
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "Ingress",
        "Job",
        "PodDisruptionBudget",
        "Service",
        "ServiceAccount",
    } <= kinds


def test_the_base_renders_on_its_own_and_is_valid():
    for obj in render(KUSTOMIZE / "base"):
        kubernetes_validate.validate(obj, KUBERNETES_VERSIONS[-1], strict=True)


def test_exactly_one_beat_which_never_overlaps_itself(objects):
    runs_beat = [
        w["metadata"]["name"]
        for w in workloads(objects)
        if "beat" in container(w)["command"] or "--beat" in container(w)["command"]
    ]
    assert runs_beat == ["truststream-beat"]
    beat = named(objects, "Deployment", "truststream-beat")
    assert beat["spec"]["replicas"] == 1
    # A rolling update would start the new beat before stopping the old one.
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
    scaled = {
        hpa["spec"]["scaleTargetRef"]["name"] for hpa in of_kind(objects, "HorizontalPodAutoscaler")
    }
    assert "truststream-beat" not in scaled


def test_web_has_readiness_and_liveness_probes_on_healthz_that_django_answers(objects):
    web = named(objects, "Deployment", "truststream-web")
    ports = {port["name"]: port["containerPort"] for port in container(web)["ports"]}
    allowed_hosts = settings_of(objects)["ALLOWED_HOSTS"].split(",")
    for probe_name in ("readinessProbe", "livenessProbe"):
        probe = container(web)[probe_name]["httpGet"]
        assert probe["path"] == "/healthz"
        assert probe["port"] in ports
        # Django answers 400 to a Host it does not know, and a probe's default Host is the
        # pod's IP address.
        (host,) = [h["value"] for h in probe["httpHeaders"] if h["name"] == "Host"]
        assert host in allowed_hosts, f"{probe_name} sends Host {host}, not in ALLOWED_HOSTS"


def test_the_service_ingress_autoscaler_and_disruption_budget_reach_the_web_pods(objects):
    web = named(objects, "Deployment", "truststream-web")
    pod_labels = web["spec"]["template"]["metadata"]["labels"]
    service = named(objects, "Service", "truststream-web")
    assert service["spec"]["selector"].items() <= pod_labels.items()
    port_names = {port["name"] for port in container(web)["ports"]}
    assert {port["targetPort"] for port in service["spec"]["ports"]} <= port_names
    ingress = named(objects, "Ingress", "truststream-web")
    (rule,) = ingress["spec"]["rules"]
    assert rule["http"]["paths"][0]["backend"]["service"]["name"] == "truststream-web"
    settings = settings_of(objects)
    assert rule["host"] in settings["ALLOWED_HOSTS"].split(",")
    assert settings["SITE_URL"] == f"https://{rule['host']}"
    assert rule["host"] in ingress["spec"]["tls"][0]["hosts"]
    hpa = named(objects, "HorizontalPodAutoscaler", "truststream-web")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "truststream-web",
    }
    assert hpa["spec"]["minReplicas"] >= 2
    pdb = named(objects, "PodDisruptionBudget", "truststream-web")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"]


def test_one_worker_deployment_per_queue(objects):
    queues = {}
    for worker in of_kind(objects, "Deployment"):
        command = container(worker)["command"]
        if "worker" not in command:
            continue
        (flag,) = [arg for arg in command if arg.startswith("--queues=")]
        (queue,) = flag.removeprefix("--queues=").split(",")
        queues[queue] = worker
        # The liveness probe pings this worker's own node name.
        (node,) = [arg for arg in command if arg.startswith("--hostname=")]
        assert node == f"--hostname={queue}@%h"
        assert (
            f"--destination={queue}@$HOSTNAME"
            in container(worker)["livenessProbe"]["exec"]["command"][-1]
        )
    assert set(queues) == {"packets", "mail", "default"}
    assert "--prefetch-multiplier=1" in container(queues["packets"])["command"]


def test_the_migrations_run_as_a_job_and_nothing_loads_demo_data(objects):
    (job,) = of_kind(objects, "Job")
    assert container(job)["command"] == ["python", "manage.py", "migrate", "--no-input"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    for workload in workloads(objects):
        assert "load_demo" not in " ".join(container(workload)["command"])


def test_web_workers_beat_and_migrations_run_the_same_image_with_the_same_settings(objects):
    shared = set()
    for workload in workloads(objects):
        pod = workload["spec"]["template"]["spec"]
        app = container(workload)
        shared.add(
            yaml.safe_dump(
                {
                    "image": app["image"],
                    "env": app["env"],
                    "envFrom": app["envFrom"],
                    "volumeMounts": app["volumeMounts"],
                    "volumes": pod["volumes"],
                    "serviceAccountName": pod["serviceAccountName"],
                }
            )
        )
    assert len(workloads(objects)) == 6
    assert len(shared) == 1, "the workloads differ in image or settings"
    image = container(workloads(objects)[0])["image"]
    assert re.fullmatch(r"[^:]+:[^:]+", image) and not image.endswith(":latest"), image


def test_every_container_requests_resources_and_runs_as_non_root(objects):
    for workload in workloads(objects):
        pod = workload["spec"]["template"]["spec"]
        app = container(workload)
        name = workload["metadata"]["name"]
        assert {"cpu", "memory"} <= app["resources"]["requests"].keys(), name
        assert "memory" in app["resources"]["limits"], name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        assert app["securityContext"]["allowPrivilegeEscalation"] is False, name
        assert app["securityContext"]["readOnlyRootFilesystem"] is True, name
        assert app["securityContext"]["capabilities"]["drop"] == ["ALL"], name
        assert pod["automountServiceAccountToken"] is False, name


def test_no_secret_values_in_the_manifests(objects):
    assert secret_problems(objects) == []
    # Each secret setting the processes need does reach them, from a Secret.
    env = {e["name"]: e for e in container(workloads(objects)[0])["env"]}
    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "AWS_SECRET_ACCESS_KEY"):
        assert "secretKeyRef" in env[name]["valueFrom"], name


def test_the_secret_check_finds_a_secret_written_into_a_manifest(objects):
    leaked = copy.deepcopy(objects)
    web = named(leaked, "Deployment", "truststream-web")
    container(web)["env"].append({"name": "CACHE_URL", "value": "redis://app:hunter2@redis:6379"})
    settings_of(leaked)["EMAIL_HOST_PASSWORD"] = "hunter2"
    assert secret_problems(leaked) == [
        "ConfigMap/"
        + of_kind(leaked, "ConfigMap")[0]["metadata"]["name"]
        + " holds EMAIL_HOST_PASSWORD",
        "Deployment/truststream-web sets CACHE_URL in plain text",
    ]


def test_the_secret_example_lists_every_secret_the_manifests_read_and_only_placeholders(objects):
    examples = [obj for obj in yaml.safe_load_all(SECRET_EXAMPLE.read_text()) if obj]
    provided = set()
    for secret in examples:
        kubernetes_validate.validate(secret, KUBERNETES_VERSIONS[-1], strict=True)
        for key, value in secret["stringData"].items():
            provided.add((secret["metadata"]["name"], key))
            assert value.startswith("REPLACE-"), f"{key} in the example is not a placeholder"
    wanted = set()
    for workload in workloads(objects):
        pod = workload["spec"]["template"]["spec"]
        for env in container(workload)["env"]:
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                wanted.add((ref["name"], ref["key"]))
        # A file the settings name inside a mounted Secret is one of that Secret's keys.
        mounts = {m["name"]: m["mountPath"] for m in container(workload)["volumeMounts"]}
        for volume in pod["volumes"]:
            if "secret" in volume:
                folder = mounts[volume["name"]] + "/"
                for env in container(workload)["env"]:
                    if env.get("value", "").startswith(folder):
                        key = env["value"].removeprefix(folder)
                        wanted.add((volume["secret"]["secretName"], key))
    assert wanted == provided
