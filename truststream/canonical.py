"""The canonical form of a plan's snapshot and the digests taken of it.

Pure functions without Django, shared by the application (`signoffs.snapshot`,
`signoffs.packets`) and by the offline packet verifier (`truststream.verify_packet`), so that a
digest has one definition whether the server or a reader with nothing but the PDF computes it.
They live in the core because the verifier must run from the core alone: the apps import one
way, and nothing in `truststream` may import `signoffs`.
"""

import hashlib
import json


def canonical_json(data: object) -> str:
    """Sorted keys, no spaces, UTF-8 kept as is: the same content always gives the same text."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(data: object) -> str:
    """The SHA-256 of the canonical text, in hex."""
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


def covered(sections: dict[str, object], names: list[str]) -> dict[str, object]:
    """The part of a snapshot's sections that an approval role covers, by the role's section
    names: "plan" is all of it, "phases" every week. `sections` may hold the "phases" group
    (the app's live snapshot) or not (a packet's): either gives the same result."""
    if "plan" in names:
        return {key: value for key, value in sections.items() if key != "phases"}
    chosen = {}
    for name in names:
        if name == "phases":
            chosen.update({k: v for k, v in sections.items() if k.startswith("phases.")})
        elif name in sections:
            chosen[name] = sections[name]
    return chosen


def revision_digest(packet_data: dict) -> str:
    """The plan digest a packet prints: the digest of its snapshot without the plan's status,
    so that moving a signed-off plan to "deployed" does not make a new revision."""
    plan = {k: v for k, v in packet_data["plan"].items() if k not in ("status", "status_label")}
    return digest({**packet_data, "plan": plan})
