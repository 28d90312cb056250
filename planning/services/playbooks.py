"""Loading playbook files as new revisions."""

import hashlib

from django.db import transaction
from django.db.models import Max

from planning import playbook_schema, yamlsafe
from planning.models import Playbook


class PlaybookInvalid(ValueError):
    def __init__(self, problems: list):
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


@transaction.atomic
def playbook_load(*, text: str | bytes, source_name: str = "") -> tuple[Playbook, bool]:
    """Check a playbook file and load it as a new revision; (playbook, created).

    Nothing is loaded when anything is wrong: `PlaybookInvalid` carries every problem with its
    line. Loading the same content again returns the revision that has it. Revisions are
    never changed, so a plan always keeps what it was made from.
    """
    raw = text.encode("utf-8") if isinstance(text, str) else text
    try:
        document = yamlsafe.load(raw)
    except yamlsafe.YamlError as error:
        raise PlaybookInvalid([playbook_schema.Problem(error.line, "", error.message)]) from None
    problems = playbook_schema.check(document)
    if problems:
        raise PlaybookInvalid(problems)
    definition = playbook_schema.normalise(document.data)
    sha256 = hashlib.sha256(raw).hexdigest()
    # Serialise loads of one key, so that two loads cannot take the same revision number.
    existing = Playbook.objects.select_for_update().filter(key=definition["key"])
    same = existing.filter(sha256=sha256).first()
    if same is not None:
        return same, False
    latest = existing.aggregate(latest=Max("revision"))["latest"] or 0
    playbook = Playbook.objects.create(
        key=definition["key"],
        revision=latest + 1,
        name=definition["name"],
        version=definition["version"],
        sha256=sha256,
        definition=definition,
        source_name=source_name,
    )
    return playbook, True
