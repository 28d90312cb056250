"""The comment a gate posts where the engineer is looking: the decision, the score and band,
what is missing, and a link, in at most 1,024 characters (GitHub's limit for a protection
rule's comment). When the details do not fit, they are cut, never the first line or the link.
"""

from signoffs.decision import Decision

LIMIT = 1024


def _shorten(text: str, room: int) -> str:
    return text if len(text) <= room else text[: max(0, room - 1)].rstrip() + "…"


def gate_comment(decision: Decision, *, lead: str = "", limit: int = LIMIT) -> str:
    """`lead` replaces the first line (a rejection's own reason, for instance)."""
    verdict = "GO" if decision.go else "NO-GO"
    first = lead or (
        f"TrustStram Readiness: {verdict} for {decision.title} {decision.release_version}."
    )
    score = (
        f"Readiness {decision.as_json()['score']:g} ({decision.band['title']}); "
        f"the gate needs {decision.threshold}."
    )
    details = [score]
    if decision.missing_roles:
        details.append("Missing sign-offs: " + ", ".join(decision.missing_roles) + ".")
    if decision.stale_roles:
        details.append("Stale sign-offs: " + ", ".join(decision.stale_roles) + ".")
    if decision.blockers:
        details.append("Blockers: " + "; ".join(decision.blockers) + ".")
    if not decision.go:
        # The reasons not already said above (status, threshold, rejections).
        said = ("Waiting for sign-off", "Signatures made stale", "critical checklist item")
        details += [r for r in decision.reasons if not any(s in r for s in said)]
    link = decision.url
    head = _shorten(first, limit - len(link) - 2)
    room = limit - len(head) - len(link) - 2  # two line breaks around the details
    body = []
    for line in details:
        needed = len(line) + 1
        if needed <= room:
            body.append(line)
            room -= needed
        elif room > 20:
            body.append(_shorten(line, room - 1))
            room = 0
    return "\n".join([head, *body, link])
