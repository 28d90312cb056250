"""Load the demo data once; running it again changes nothing.

Each app that has demo data contributes a `demo.py` with `load(stdout)`; the apps are visited
in INSTALLED_APPS order, so that this command, which lives in the lowest app, imports none of
the higher ones.
"""

from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from truststream.history import context


class Command(BaseCommand):
    help = "Create the demo users and the demo plan, unless they exist already."

    def handle(self, *args, **options):
        with transaction.atomic(), context(command="load_demo"):
            for config in apps.get_app_configs():
                if find_spec(f"{config.name}.demo") is None:
                    continue
                import_module(f"{config.name}.demo").load(self.stdout)
