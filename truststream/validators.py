"""Validators shared by the apps' models and forms."""

import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError

# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators.
_NOT_ON_ONE_LINE = {"Cc", "Zl", "Zp"}
_LINE_BREAKS = "\r\n\x0b\x0c\x85\u2028\u2029"


def single_line(value: str) -> None:
    """Refuse line breaks and control characters in text shown on one line.

    Titles, names and releases end up in email subjects (where a line break is refused by the
    mail library, or would start a new header), in CSV cells and in the PDF's running header.
    """
    for char in value:
        if unicodedata.category(char) in _NOT_ON_ONE_LINE:
            what = "a line break" if char in _LINE_BREAKS else "a control character"
            raise ValidationError(
                "Write this on one line: remove %(what)s (U+%(code)04X).",
                code="single_line",
                params={"what": what, "code": ord(char)},
            )


def email_subject(text: str) -> str:
    """An email subject: the prefix allauth's emails carry too, then the text on one line (rows
    stored before `single_line` existed may hold line breaks), at most 200 characters."""
    return f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{' '.join(text.split())}"[:200]
