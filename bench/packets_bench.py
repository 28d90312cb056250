"""Measure readiness packets: the request (what the web does before answering), and the
render in the worker for a plan of the guide's size and for one ten times larger, beside
WeasyPrint's own time for the same HTML (untagged and tagged), with the peak memory of the
render and the time `truststream.verify_packet` takes to check the result; then the cost of
signing the same rendering at PAdES B-B, B-T and B-LTA with a CA-issued certificate, against
the tests' certomancer PKI and timestamp authority served on loopback (tests/pki), and of
checking each: `verify_packet` in this process, the command `python -m
truststream.verify_packet` as a reader runs it (a process of its own, start-up included), and
`pdfsign.check` (the verify page's check, in a process of its own). Once per plan, the B-LTA
file is also checked with pyHanko's standard difference analysis, which the checks used before
`truststream.pdfupdates`; that check takes minutes of CPU on a tagged packet, so it runs in a
process of its own bounded by BENCH_STANDARD_SECONDS (600; 0 skips it) and a run over the bound
is reported as such rather than holding up the benchmark.

    make bench
    python -m truststream.embedded exec -- .venv/bin/python bench/packets_bench.py
    # BENCH_ROUNDS (3), BENCH_STANDARD_SECONDS (600), BENCH_PKI_PORT (0: any free port)

Everything happens in a throwaway database created and dropped here (bench/benchdb.py).
Progress goes to standard error, the tables to standard output.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django

django.setup()

from benchdb import bench_database
from django.test import Client
from django.test.utils import override_settings
from pyhanko.keys import load_certs_from_pemder_data

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
STANDARD_SECONDS = int(os.environ.get("BENCH_STANDARD_SECONDS", "600"))
PKI_PORT = int(os.environ.get("BENCH_PKI_PORT", "0"))
STARTED = time.monotonic()
PROFILES = ("B-B", "B-T", "B-LTA")
_PKI = {}


def pki_settings(profile: str) -> dict:
    """Signing with the local CA's certificate at `profile`; B-B without the authority."""
    found = dict(_PKI["served"].signing_settings(), PACKET_SIGNATURE_PROFILE=profile)
    if profile == "B-B":
        found["PACKET_TSA_URL"] = ""
    return found


def progress(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:7.1f} s] {message}", file=sys.stderr, flush=True)


def peak_reset() -> None:
    """Start a new peak of resident memory for this process (Linux: VmHWM)."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def peak_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def make_plan(scale: int):
    from checklists import services
    from checklists.models import ChecklistItem
    from planning.models import Task
    from tests.factories import UserFactory, make_plan

    owner = UserFactory(username=f"bench-owner-{scale}")
    plan = make_plan(owner, title=f"Packet bench ×{scale}")
    tasks = list(Task.objects.filter(plan=plan))
    items = list(ChecklistItem.objects.filter(plan=plan))
    states = ["passed", "open", "failed", "passed", "not_applicable"]
    Task.objects.bulk_create(
        Task(
            plan=plan,
            phase_id=task.phase_id,
            group=task.group,
            title=f"{task.title} ({n})",
            position=100 * n + task.position,
            due_on=task.due_on,
            status=task.status,
        )
        for n in range(1, scale)
        for task in tasks
    )
    ChecklistItem.objects.bulk_create(
        ChecklistItem(
            plan=plan,
            checklist_id=item.checklist_id,
            text=f"{item.text} ({n})",
            position=100 * n + item.position,
            state=states[n % len(states)],
            na_reason="bench" if states[n % len(states)] == "not_applicable" else "",
            note=f"Checked in round {n}; see the runbook, section {n}.",
        )
        for n in range(1, scale)
        for item in items
    )
    for key in ("infrastructure", "security", "application", "monitoring", "documentation"):
        services.score_set(plan=plan, actor=owner, category=key, score=8, rationale="bench")
    return owner, plan, len(tasks) * scale, len(items) * scale


def bench_request(owner, plan) -> float:
    """Median time of the request view (packet contents, seal, enqueue on commit), each round a new
    revision so that nothing is answered from an earlier packet."""
    from checklists import services
    from checklists.models import ChecklistItem

    client = Client()
    client.force_login(owner)
    url = f"/plans/{plan.pk}/packets/request/"
    samples = []
    for round_ in range(ROUNDS * 3):
        item = ChecklistItem.objects.filter(plan=plan).order_by("id").first()
        services.item_set_state(
            item=item,
            actor=owner,
            state="passed" if round_ % 2 else "failed",
            version=item.version,
        )
        started = time.perf_counter()
        response = client.post(url, {"kind": "draft"})
        samples.append(time.perf_counter() - started)
        assert response.status_code == 302, response.status_code
    return statistics.median(samples)


def bench_render(owner, plan) -> dict:
    from django.conf import settings
    from django.contrib.staticfiles import finders
    from weasyprint import CSS, HTML

    from signoffs import packet_selectors, packets, pdfsign, services
    from signoffs.models import ReadinessPacket
    from truststream import verify_packet
    from truststream.audit import describe_events

    stylesheet = CSS(filename=finders.find(packets.STYLESHEET))
    stages: dict[str, list[float]] = {
        "whole": [],
        "html": [],
        "weasyprint_plain": [],
        "weasyprint_pdfa": [],
        "untagged": [],
        "tagged": [],
        "sign": [],
        **{f"sign {profile}": [] for profile in PROFILES},
        **{f"size {profile}": [] for profile in PROFILES},
        **{f"verify {profile}": [] for profile in PROFILES},
        **{f"command {profile}": [] for profile in PROFILES},
        **{f"check {profile}": [] for profile in PROFILES},
        "standard diff": [],
        "verify": [],
        "peak": [],
        "pages": [],
        "size": [],
    }
    for round_ in range(ROUNDS):
        progress(f"{plan.title}: round {round_ + 1} of {ROUNDS}, render")
        packet = services.packet_request(plan=plan, requested_by=owner, kind="draft")
        ReadinessPacket.objects.filter(pk=packet.pk).update(status="queued", file="", sha256="")
        peak_reset()
        started = time.perf_counter()
        services.packet_render(packet_id=packet.pk)
        stages["whole"].append(time.perf_counter() - started)
        stages["peak"].append(peak_mb())
        packet.refresh_from_db()
        assert packet.status == "ready", packet.failure
        stages["size"].append(packet.size)

        started = time.perf_counter()
        events = list(packet_selectors.packet_audit_events(packet)[: settings.PACKET_AUDIT_EVENTS])
        html = packets.packet_html(
            packet,
            audit_rows=describe_events(list(reversed(events)), client_details=False),
            audit_total=len(events),
            signature_profile="B-B",
        )
        stages["html"].append(time.perf_counter() - started)
        started = time.perf_counter()
        document = HTML(
            string=html, base_url=settings.SITE_URL + "/", url_fetcher=packets.StaticFilesOnly()
        ).render()
        document.write_pdf()
        stages["weasyprint_plain"].append(time.perf_counter() - started)
        stages["pages"].append(len(document.pages))
        started = time.perf_counter()
        pdf = packets.render_pdf(html, packet.snapshot)
        stages["weasyprint_pdfa"].append(time.perf_counter() - started)
        # Tagging's own cost: the same PDF/A-3b without and with tags, one after the other so
        # that both meet the same load.
        for tags, stage in ((False, "untagged"), (True, "tagged")):
            started = time.perf_counter()
            HTML(
                string=html, base_url=settings.SITE_URL + "/", url_fetcher=packets.StaticFilesOnly()
            ).write_pdf(stylesheets=[stylesheet], pdf_variant="pdf/a-3b", pdf_tags=tags)
            stages[stage].append(time.perf_counter() - started)
        started = time.perf_counter()
        pdfsign.sign(pdf, reason="bench")
        stages["sign"].append(time.perf_counter() - started)
        for profile in PROFILES:
            progress(f"{plan.title}: round {round_ + 1}, sign and check {profile}")
            with override_settings(**pki_settings(profile)):
                started = time.perf_counter()
                signed = pdfsign.sign(pdf, reason="bench")
                stages[f"sign {profile}"].append(time.perf_counter() - started)
                stages[f"size {profile}"].append(len(signed) - len(pdf))
                bench_checks(signed, profile, stages, standard=round_ == 0)
        # The offline check a reader runs on the stored packet (in this process: the command
        # adds Python's start-up and its imports, about a second).
        with packet.file.open("rb") as stored, tempfile.NamedTemporaryFile(suffix=".pdf") as copy:
            copy.write(stored.read())
            copy.flush()
            started = time.perf_counter()
            report = verify_packet.verify(Path(copy.name), [pdfsign.ensure_key()[1]], 2**26)
            stages["verify"].append(time.perf_counter() - started)
        assert report.exit_code == 0, [c for c in report.checks if not c.ok]
        # Each round a new revision, so that the next request renders again.
        plan.title = plan.title + "."
        plan.save(update_fields=["title"])
    return {key: statistics.median(values) for key, values in stages.items() if values}


def bench_checks(signed: bytes, profile: str, stages: dict, *, standard: bool) -> None:
    """Check a packet signed at `profile` as a reader does (`verify_packet` in this process, and
    the command in a process of its own) and as the verify page does (`pdfsign.check`, a process
    of its own); and with pyHanko's standard difference analysis when `standard`."""
    from signoffs import pdfsign
    from truststream import verify_packet

    with tempfile.TemporaryDirectory() as folder:
        path, root = Path(folder) / "packet.pdf", Path(folder) / "root.pem"
        path.write_bytes(signed)
        root.write_bytes(_PKI["served"].certificate("root"))
        started = time.perf_counter()
        report = verify_packet.verify(path, [root], 2**26)
        stages[f"verify {profile}"].append(time.perf_counter() - started)
        assert report.exit_code == 0, [c for c in report.checks if not c.ok]
        command = [sys.executable, "-m", "truststream.verify_packet", str(path), "--trust"]
        started = time.perf_counter()
        done = subprocess.run([*command, str(root)], capture_output=True, cwd=ROOT, check=False)
        stages[f"command {profile}"].append(time.perf_counter() - started)
        assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
        started = time.perf_counter()
        check = pdfsign.check(signed)
        stages[f"check {profile}"].append(time.perf_counter() - started)
        assert check.valid and check.level == profile, check.summary
        if standard and profile == "B-LTA" and STANDARD_SECONDS:
            stages["standard diff"].append(standard_diff(path, root))


def standard_diff(path: Path, root: Path) -> float:
    """Seconds pyHanko's standard difference analysis takes on the file, in a process of its
    own; infinity when it passed BENCH_STANDARD_SECONDS and was stopped."""
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--standard-diff", str(path), str(root)],
            capture_output=True,
            timeout=STANDARD_SECONDS,
            check=True,
        )
    except subprocess.TimeoutExpired:
        progress(f"pyHanko's standard analysis stopped after {STANDARD_SECONDS} s")
        return float("inf")
    return float(done.stdout)


def standard_diff_child(path: str, root: str) -> None:
    import io

    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    reader = PdfFileReader(io.BytesIO(Path(path).read_bytes()))
    roots = list(load_certs_from_pemder_data(Path(root).read_bytes()))
    started = time.perf_counter()
    status = validate_pdf_signature(
        reader.embedded_regular_signatures[0],
        ValidationContext(trust_roots=roots, allow_fetching=False),
    )
    assert status.modification_level is not None
    print(time.perf_counter() - started)


def seconds(value: float) -> str:
    return f"over {STANDARD_SECONDS} s" if value == float("inf") else f"{value:.1f} s"


def main() -> None:
    import logging

    from tests import pki

    # The loopback servers' access log is not a figure.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    rows, signing_rows, checking_rows = [], [], []
    load = [os.getloadavg()]
    with bench_database("packets"), tempfile.TemporaryDirectory() as pki_folder:
        _PKI["served"] = pki.start(Path(pki_folder), port=PKI_PORT)
        try:
            for scale in (1, 10):
                owner, plan, tasks, items = make_plan(scale)
                progress(f"{plan.title}: requests")
                request = bench_request(owner, plan)
                render = bench_render(owner, plan)
                load.append(os.getloadavg())
                label = "the guide's size" if scale == 1 else "ten times larger"
                rows.append(
                    f"| {label}: {tasks} tasks, {items} checklist items "
                    f"| {request * 1000:.0f} ms "
                    f"| {render['whole']:.2f} s | {render['weasyprint_plain']:.2f} s "
                    f"| {render['weasyprint_pdfa']:.2f} s "
                    f"| {render['untagged']:.2f} s → {render['tagged']:.2f} s "
                    f"| {render['html'] * 1000:.0f} ms "
                    f"| {render['sign'] * 1000:.0f} ms | {render['verify'] * 1000:.0f} ms "
                    f"| {render['peak']:.0f} MB "
                    f"| {render['pages']:.0f} pages, {render['size'] / 1_000_000:.2f} MB |"
                )
                signing_rows.append(
                    f"| {label} | "
                    + " | ".join(
                        f"{render[f'sign {p}'] * 1000:.0f} ms, +{render[f'size {p}'] / 1000:.0f} kB"
                        for p in PROFILES
                    )
                    + " |"
                )
                standard = render.get("standard diff")
                checking_rows.append(
                    f"| {label} | "
                    + " | ".join(
                        f"{render[f'verify {p}'] * 1000:.0f} ms, {render[f'command {p}']:.2f} s, "
                        f"{render[f'check {p}']:.2f} s"
                        for p in PROFILES
                    )
                    + f" | {'not run' if standard is None else seconds(standard)} |"
                )
        finally:
            _PKI["served"].stop()
    print(
        f"{os.cpu_count()} cores, {ROUNDS} rounds, medians; load average (1, 5, 15 min) at the "
        f"start and after each plan: {'; '.join(', '.join(f'{x:.1f}' for x in a) for a in load)}\n"
    )
    print(
        "| plan | request (enqueue) | whole render in the worker | WeasyPrint alone, same HTML "
        "| WeasyPrint as tagged PDF/A-3b with the JSON | PDF/A-3b untagged → tagged | our HTML "
        "| signing | offline verify | peak memory | output |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print("\nSigning the same rendering with the CA-issued certificate (time, bytes added)\n")
    print("| plan | " + " | ".join(f"PAdES {p}" for p in PROFILES) + " |")
    print("|---|" + "---|" * len(PROFILES))
    print("\n".join(signing_rows))
    print(
        "\nChecking them: verify_packet.verify in process, `python -m truststream.verify_packet` "
        "(a process of its own), pdfsign.check (the verify page, a process of its own); the "
        "B-LTA file with pyHanko's standard analysis\n"
    )
    print("| plan | " + " | ".join(f"PAdES {p}" for p in PROFILES) + " | B-LTA, standard |")
    print("|---|" + "---|" * (len(PROFILES) + 1))
    print("\n".join(checking_rows))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--standard-diff"]:
        standard_diff_child(*sys.argv[2:4])
    else:
        main()
