"""The report as text for a terminal, or as one JSON document."""

import json
import unicodedata

from truststream.verify_packet.report import Report


def _printable(text: object) -> str:
    """Text from the file, shown in a terminal: control characters (escape sequences that
    could rewrite what the screen shows) are replaced."""
    return "".join(
        character if unicodedata.category(character)[0] != "C" else "\ufffd"
        for character in str(text)
    )


def as_text(report: Report) -> str:
    packet = report.packet
    lines = [f"File        {report.file}", f"SHA-256     {report.sha256}"]
    if packet.get("plan"):
        kind = (packet.get("kind") or "?").upper()
        lines.append(f"Packet      {packet['plan']}, revision {packet.get('revision')}, {kind}")
    lines.append("")
    for check in report.checks:
        mark = "ok" if check.ok else "OPEN" if check.undecided else "FAIL"
        lines.append(f"{mark:<5} {check.name:<12} {check.detail}")
    if report.approvals:
        lines += ["", "Approvals (times in UTC)"]
    for approval in report.approvals:
        if not approval["signed"]:
            lines.append(f"- {approval['role']}: not signed")
            continue
        stale = (
            f"STALE at the time: {', '.join(approval['changed_sections'])} changed since"
            if approval["stale"]
            else "current at the time"
        )
        lines.append(
            f"- {approval['role']}: {approval['name']}, {approval['decision'].lower()}, "
            f"{approval['signed_at']}; {stale}"
            + ("" if approval["counts"] else f"; does not count ({approval['state']})")
        )
        lines.append(f"    approves: {approval['approves']}")
        lines.append(f"    meaning:  {approval['meaning']}")
    lines += ["", report.verdict]
    # A newline in a signer's meaning must not print a line of its own ("ok  signature …").
    return "\n".join(_printable(line) for line in lines)


def as_json(report: Report) -> str:
    return json.dumps(
        {
            "file": report.file,
            "sha256": report.sha256,
            "packet": report.packet,
            "checks": [check.__dict__ for check in report.checks],
            "approvals": report.approvals,
            "exit_code": report.exit_code,
            "verdict": report.verdict,
        },
        indent=2,
        ensure_ascii=False,
    )
