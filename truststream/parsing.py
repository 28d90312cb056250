"""Reading the numbers people send: ids in forms and query strings, versions in ETags.

Python's own readings are too generous for input: `str.isdigit()` is true for "²", `int()`
takes "١٢" as 12 and raises on "²" or on more than 4,300 digits, and an integer beyond
Postgres's bigint fails in the database. Every id or version a user sends is read here, once.
"""

import re

BIGINT_MAX = 2**63 - 1
# ASCII digits only, and no more than the 19 a bigint can have.
_NUMBER = re.compile(r"[0-9]{1,19}")


def parse_id(value: str | None) -> int | None:
    """The whole number `value` spells in ASCII digits, between 0 and Postgres's largest bigint;
    None for anything else (signs, spaces, other scripts' digits, too many digits)."""
    if not isinstance(value, str) or not _NUMBER.fullmatch(value):
        return None
    number = int(value)
    return number if number <= BIGINT_MAX else None
