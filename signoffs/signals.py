"""What sign-offs announce to the apps above them, which connect in `AppConfig.ready()`.

Each is sent after the transaction that made the change has committed (`send_robust`: a
failing receiver is logged and changes nothing here), with ids rather than objects, so that a
receiver reads what was committed.
"""

from django.db import transaction
from django.dispatch import Signal

# The plan's status changed, by hand or by itself (entering or leaving "signed off").
plan_status_changed = Signal()  # sender=DeploymentPlan, plan_id, old, new

# A signature (an approval or a rejection) was recorded.
signoff_recorded = Signal()  # sender=Signoff, plan_id, signoff_id

# A signature went stale: the plan changed in a section it covers (sent once per signature).
signature_stale = Signal()  # sender=Signoff, plan_id, signoff_id

# A readiness packet finished rendering and is stored.
packet_ready = Signal()  # sender=ReadinessPacket, plan_id, packet_id


def send_on_commit(signal: Signal, sender, **kwargs) -> None:
    transaction.on_commit(lambda: signal.send_robust(sender=sender, **kwargs))
