"""RFC 3161 tokens over the audit chain's seals, from the local timestamp authority (tests/pki):
what they catch that the chain alone cannot, a rewrite by someone with full database access."""

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from pyhanko.sign.timestamps import TimestampRequestError

from planning.models import Task
from tests.conftest import wait_for
from tests.truststream.test_audit import EVENT_TABLE, _as_superuser_without_triggers
from truststream import audit
from truststream.audit import seals
from truststream.models import AuditSeal, SealTimestamp


def _seal(plan, reason: str) -> AuditSeal:
    Task.objects.filter(plan=plan).update(notes=f"before {reason}")
    return audit.seal_take(plan_id=plan.pk, reason=reason)


def _rewrite_history(plan_id: int) -> None:
    """What someone with full database access can do: change the plan's first event, then
    recompute every seal from there on, so that the chain holds together again."""
    _as_superuser_without_triggers(
        f"UPDATE {EVENT_TABLE} SET title = 'Nothing to see' WHERE pgh_id = "
        f"(SELECT min(pgh_id) FROM {EVENT_TABLE} WHERE plan_id = %s)",
        [plan_id],
    )
    previous = None
    for seal in AuditSeal.objects.filter(plan_id=plan_id).order_by("number"):
        previous_digest = previous.digest if previous else ""
        chained = seals._chain(
            previous_digest,
            plan_id,
            previous.marks if previous else {},
            seal.marks,
            with_context=seal.covers_context,
        )
        _as_superuser_without_triggers(
            "UPDATE truststream_auditseal SET digest = %s, previous_digest = %s WHERE id = %s",
            [chained.digest, previous_digest, seal.pk],
        )
        seal.digest = chained.digest
        previous = seal


def test_a_seal_gets_its_token_from_the_worker_after_commit(celery_worker, plan, signing_with):
    signing_with("B-LTA")
    with transaction.atomic():
        seal = _seal(plan, "a sign-off")
        # Inside the transaction nothing waits for the authority.
        assert not SealTimestamp.objects.filter(seal=seal).exists()
    stamp = wait_for(lambda: SealTimestamp.objects.filter(seal=seal).first(), timeout=30)
    assert abs(stamp.stamped_at - seal.created_at).total_seconds() < 30
    assert audit.verify(plan.pk) == (1, None)


def test_a_rewrite_of_history_with_full_database_access_is_caught_by_the_token(plan, signing_with):
    signing_with("B-LTA")
    first = _seal(plan, "first sign-off")
    audit.seal_timestamp(seal_id=first.pk)
    _seal(plan, "second sign-off")
    assert audit.verify(plan.pk) == (2, None)

    _rewrite_history(plan.pk)
    with pytest.raises(
        CommandError, match=r"seal 1 .*its timestamp of .* does not hold .*was rewritten since"
    ):
        call_command("verify_audit", "--plan", str(plan.pk))
    # The recomputed chain holds together: without the token the rewrite would go unseen.
    _as_superuser_without_triggers("DELETE FROM truststream_sealtimestamp")
    assert audit.verify(plan.pk) == (2, None)


def test_a_token_on_the_newest_seal_alone_catches_a_rewrite_of_what_earlier_seals_cover(
    plan, signing_with
):
    signing_with("B-LTA")
    _seal(plan, "first sign-off")
    newest = _seal(plan, "second sign-off")
    # Only the newest seal has a token: it covers the whole chain before it.
    audit.seal_timestamp(seal_id=newest.pk)
    assert audit.verify(plan.pk) == (2, None)

    _rewrite_history(plan.pk)  # an event of the first seal's
    with pytest.raises(
        CommandError, match=r"seal 2 .*its timestamp of .* does not hold .*was rewritten since"
    ):
        call_command("verify_audit", "--plan", str(plan.pk))


def test_verify_audit_names_the_newest_token(plan, signing_with, capsys):
    signing_with("B-LTA")
    seal = _seal(plan, "a sign-off")
    stamp = audit.seal_timestamp(seal_id=seal.pk)
    call_command("verify_audit", "--plan", str(plan.pk))
    out = capsys.readouterr().out
    assert (
        f"1 seals carry a valid timestamp token, the newest of {stamp.stamped_at:%Y-%m-%d}" in out
    )


def test_a_token_moved_to_another_seal_is_caught(plan, signing_with):
    signing_with("B-LTA")
    first = _seal(plan, "first")
    second = _seal(plan, "second")
    audit.seal_timestamp(seal_id=first.pk)
    _as_superuser_without_triggers(
        "INSERT INTO truststream_sealtimestamp (seal_id, token, stamped_at, created_at) "
        "SELECT %s, token, stamped_at, created_at FROM truststream_sealtimestamp "
        "WHERE seal_id = %s",
        [second.pk, first.pk],
    )
    with pytest.raises(CommandError, match=r"seal 2 .*the token is over other data"):
        call_command("verify_audit", "--plan", str(plan.pk))


def test_a_token_from_an_authority_not_trusted_is_refused(plan, signing_with, settings):
    pki = signing_with("B-LTA")
    seal = _seal(plan, "a sign-off")
    audit.seal_timestamp(seal_id=seal.pk)
    # The authority's root no longer trusted: its tokens prove nothing.
    settings.PACKET_TSA_TRUST = pki.certificate("issuing").decode()
    with pytest.raises(CommandError, match=r"not from a trusted timestamp authority"):
        call_command("verify_audit", "--plan", str(plan.pk))


def test_the_authority_down_never_holds_up_a_seal_and_the_sweep_asks_again(
    plan, signing_with, settings, django_capture_on_commit_callbacks
):
    signing_with("B-LTA")
    settings.PACKET_TSA_URL = "http://127.0.0.1:1/tsa"  # nothing listens on port 1
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        seal = _seal(plan, "a sign-off while the authority is away")
    assert len(callbacks) == 1  # the token is asked for after commit, in the worker
    with pytest.raises(TimestampRequestError):
        audit.seal_timestamp(seal_id=seal.pk)
    assert seal.pk in audit.seals_without_timestamp(limit=100)
    assert audit.verify(plan.pk) == (1, None)

    signing_with("B-LTA")
    audit.seal_timestamp(seal_id=seal.pk)
    assert seal.pk not in audit.seals_without_timestamp(limit=100)
    assert audit.timestamps_summary(plan.pk).count == 1


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE truststream_sealtimestamp SET token = 'forged'::bytea",
        "DELETE FROM truststream_sealtimestamp",
        "TRUNCATE truststream_sealtimestamp",
    ],
)
def test_a_kept_token_refuses_to_be_changed_or_removed(plan, signing_with, statement):
    signing_with("B-LTA")
    stamp = audit.seal_timestamp(seal_id=_seal(plan, "a sign-off").pk)
    with (
        pytest.raises(DatabaseError, match="pgtrigger: Cannot"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert bytes(SealTimestamp.objects.get().token) == bytes(stamp.token)
