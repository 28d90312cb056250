"""Load the demo data once; running it again changes nothing.

Each app that has demo data contributes a `demo.py` with `load(stdout)`; the apps are visited
in INSTALLED_APPS order, so that this command, which lives in the lowest app, imports none of
the higher ones.

The demo people sign in with a password printed in the README, so the command refuses to run
unless DEBUG is on or it is told in so many words that the database is not a production one
(`make run`, the local demo, says so).
"""

from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from truststream.audit.history import context


class Command(BaseCommand):
    help = "Create the demo users and the demo plan, unless they exist already (DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--i-know-this-is-not-production",
            action="store_true",
            dest="not_production",
            help="load the demo even though DEBUG is off: this database is not a production one",
        )

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["not_production"]:
            raise CommandError(
                "load_demo creates accounts whose password is published, so it runs only with "
                "DEBUG on. Nothing was loaded. If this database is not a production one, run "
                "it again with --i-know-this-is-not-production."
            )
        with transaction.atomic(), context(command="load_demo"):
            for config in apps.get_app_configs():
                if find_spec(f"{config.name}.demo") is None:
                    continue
                import_module(f"{config.name}.demo").load(self.stdout)
