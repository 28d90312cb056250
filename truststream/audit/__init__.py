"""The audit trail: what every audited model shares, seals over each plan's trail, and the
trail as people read it.

- `history` — `@tracked()` (django-pghistory's event tables, append-only through
  django-pgtrigger, with the indexes a plan's trail is read by), the middleware and `context()`
  that give each event its acting user, request id, IP address and path, task or command.
- `seals` — the events that belong to a plan, each event's digest (its row and its context),
  seals chained over them, what cites a seal (registered by higher apps) and `verify`, which
  names the first broken link (`manage.py verify_audit`).
- `feed` — a plan's events newest first: paged by keyset for the audit page, streamed in chunks
  for its CSV, described as who did what, and made safe for spreadsheets.

Callers use the names below; the modules are the package's own layout.
"""

import importlib

# Names resolved on first use (PEP 562): `history` is imported by every app's models, the
# core's own included, while `seals` and `feed` read those models; importing them eagerly here
# would import the models from inside their own import.
_EXPORTS = {
    "Cursor": "feed",
    "EventFilter": "feed",
    "describe_events": "feed",
    "plan_event_chunks": "feed",
    "plan_events_feed": "feed",
    "plan_events_count": "feed",
    "plan_events_page": "feed",
    "plan_events_window": "feed",
    "spreadsheet_safe": "feed",
    "SealReference": "seals",
    "current_marks": "seals",
    "event_digest": "seals",
    "plan_event_models": "seals",
    "plan_events": "seals",
    "seal_references_register": "seals",
    "seal_take": "seals",
    "seal_timestamp": "seals",
    "sealed_label": "seals",
    "seals_without_timestamp": "seals",
    "timestamps_summary": "seals",
    "verify": "seals",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'truststream.audit' has no attribute {name!r}")
    return getattr(importlib.import_module(f"truststream.audit.{module}"), name)
