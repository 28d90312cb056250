from django.core.management.base import BaseCommand, CommandError

from truststream import audit


class Command(BaseCommand):
    help = (
        "Recompute every audit seal and check the chain; name the first broken link. "
        "Exits non-zero when anything sealed was altered or removed, or when a seal's timestamp "
        "token no longer matches it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--plan", type=int, help="only this plan's seals")

    def handle(self, *args, plan=None, **options):
        checked, broken = audit.verify(plan)
        if broken is not None:
            raise CommandError(f"Audit trail broken at {broken}. {checked} seals before it hold.")
        scope = f"plan {plan}" if plan is not None else "all plans"
        self.stdout.write(f"{checked} seals verified for {scope}; the audit trail is intact.")
        stamps = audit.timestamps_summary(plan)
        if stamps.count:
            self.stdout.write(
                f"{stamps.count} seals carry a valid timestamp token, the newest of "
                f"{stamps.newest:%Y-%m-%d %H:%M:%S} UTC: what was sealed before then cannot "
                "have been rewritten, even by someone with full database access."
            )
        else:
            self.stdout.write(
                "No seal carries a timestamp token (PACKET_TSA_URL is unset or was unset): "
                "someone with full database access could rewrite the trail and its seals."
            )
