from django.apps import AppConfig


def _queue_plan_changed(sender, plan_id, **kwargs):
    from signoffs.tasks import plan_changed

    plan_changed.delay(plan_id)


def _packet_seal_references(plan_id):
    """Each packet cites the seal taken when it was asked for (its digest is printed in it)."""
    from signoffs.models import ReadinessPacket
    from truststream.audit import SealReference

    packets = ReadinessPacket.objects.order_by("plan_id", "seal_number", "pk")
    if plan_id is not None:
        packets = packets.filter(plan_id=plan_id)
    fields = ("plan_id", "seal_number", "seal_digest", "revision", "kind")
    for plan, number, digest, revision, kind in packets.values_list(*fields).iterator():
        yield SealReference(plan, number, digest, f"packet revision {revision} ({kind})")


class SignoffsConfig(AppConfig):
    name = "signoffs"
    verbose_name = "Sign-offs and readiness packets"

    def ready(self):
        from planning.signals import (
            member_removed,
            plan_content_changed,
            plan_created,
            team_removed,
        )
        from signoffs import activity, checks, services  # noqa: F401 (checks registers)
        from signoffs.middleware import second_factor_required
        from truststream import audit
        from truststream.accounts import second_factor_required as asks_second_factor
        from truststream.signals import team_left

        # A new plan gets the playbook's approval roles in the transaction that creates it.
        plan_created.connect(services.roles_create, dispatch_uid="signoffs_roles_create")
        plan_content_changed.connect(_queue_plan_changed, dispatch_uid="signoffs_plan_changed")
        member_removed.connect(services.roles_release, dispatch_uid="signoffs_roles_release")
        team_removed.connect(services.roles_release_team, dispatch_uid="signoffs_team_release")
        team_left.connect(services.team_roles_resync, dispatch_uid="signoffs_team_left")
        # SIGNOFF_REQUIRE_MFA: role-holders need a second factor for API tokens too.
        asks_second_factor.connect(second_factor_required, dispatch_uid="signoffs_second_factor")
        # verify_audit checks that each packet's seal is still in the chain, as the packet says.
        audit.seal_references_register(_packet_seal_references)
        activity.register()
