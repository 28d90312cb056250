from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from planning import services
from truststream.audit.history import context

MAX_PLAYBOOK_BYTES = 2 * 1024 * 1024


class Command(BaseCommand):
    help = (
        "Check a playbook YAML file against the schema and load it as a new revision. "
        "Every problem is reported with its line; nothing is loaded when there is any."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)

    def handle(self, *args, path: Path, **options):
        try:
            if path.stat().st_size > MAX_PLAYBOOK_BYTES:
                raise CommandError(f"{path}: larger than {MAX_PLAYBOOK_BYTES // 1024} KB")
            text = path.read_bytes()
        except OSError as error:
            raise CommandError(f"{path}: {error.strerror}") from None
        try:
            with context(command="load_playbook", path=str(path)):
                playbook, created = services.playbook_load(text=text, source_name=path.name)
        except services.PlaybookInvalid as invalid:
            for problem in invalid.problems:
                self.stderr.write(f"{path}:{problem}")
            count = len(invalid.problems)
            raise CommandError(
                f"{count} problem{'s' if count > 1 else ''}; nothing was loaded."
            ) from None
        if created:
            self.stdout.write(f"Loaded {playbook.name} as revision {playbook.revision}.")
        else:
            self.stdout.write(
                f"{playbook.name} is already loaded as revision {playbook.revision}; "
                "nothing changed."
            )
