"""Where the events of the apps below become webhook deliveries. Connected in
`GatesConfig.ready()` to the signals of `signoffs.signals`, which are sent after the change
committed; each receiver reads what it tells of and queues the deliveries."""

from django.conf import settings
from django.urls import reverse

from gates import webhook_services
from gates.models import WebhookEventType
from signoffs.models import ReadinessPacket, Signoff


def _signoff_data(signoff_id: int) -> dict | None:
    signoff = Signoff.objects.select_related("requirement").filter(pk=signoff_id).first()
    if signoff is None:
        return None
    return {
        "role": signoff.requirement.role,
        "title": signoff.role_title,
        "decision": signoff.decision,
        "signer": signoff.printed_name,
        "signed_at": signoff.signed_at.isoformat(),
        "digest": signoff.digest,
    }


def status_changed(sender, *, plan_id: int, old: str, new: str, **kwargs) -> None:
    webhook_services.deliveries_queue(
        plan_id=plan_id, event=WebhookEventType.STATUS_CHANGED, data={"from": old, "to": new}
    )


def signoff_recorded(sender, *, plan_id: int, signoff_id: int, **kwargs) -> None:
    data = _signoff_data(signoff_id)
    if data is not None:
        webhook_services.deliveries_queue(
            plan_id=plan_id, event=WebhookEventType.SIGNOFF_RECORDED, data=data
        )


def signature_stale(sender, *, plan_id: int, signoff_id: int, **kwargs) -> None:
    data = _signoff_data(signoff_id)
    if data is not None:
        webhook_services.deliveries_queue(
            plan_id=plan_id, event=WebhookEventType.SIGNATURE_STALE, data=data
        )


def packet_ready(sender, *, plan_id: int, packet_id: int, **kwargs) -> None:
    packet = ReadinessPacket.objects.filter(pk=packet_id).first()
    if packet is None:
        return
    path = reverse("api-v1:download_packet", args=[plan_id, packet_id])
    webhook_services.deliveries_queue(
        plan_id=plan_id,
        event=WebhookEventType.PACKET_READY,
        data={
            "packet": packet.pk,
            "revision": packet.revision,
            "kind": packet.kind,
            "sha256": packet.sha256,
            "size": packet.size,
            "download": settings.SITE_URL + path,
        },
    )


def connect() -> None:
    from signoffs import signals

    signals.plan_status_changed.connect(status_changed, dispatch_uid="gates_status_changed")
    signals.signoff_recorded.connect(signoff_recorded, dispatch_uid="gates_signoff_recorded")
    signals.signature_stale.connect(signature_stale, dispatch_uid="gates_signature_stale")
    signals.packet_ready.connect(packet_ready, dispatch_uid="gates_packet_ready")
