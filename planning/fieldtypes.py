"""The typed values of the requirement templates, as the guide writes them.

A field definition (from the playbook) names a type and its limits:

    {"type": "percentage", "unit": "%", "default": "99.9%", "required": true}

`clean(definition, raw)` turns what a user typed or a YAML file holds into the canonical value
stored on the plan (and written back to YAML), or raises `FieldError` with a message fit to
show beside the field. Canonical values read like the guide: 32, "<10", "99.95%", "200ms",
"4h/month", "7_years", true, ["SOC2", "GDPR"].
"""

import re
from decimal import Decimal, InvalidOperation

TYPES = (
    "integer",
    "number",
    "percentage",
    "comparison",
    "duration",
    "window",
    "boolean",
    "choice",
    "multichoice",
    "text",
)

# Units a duration may be written in, and how each is written back.
DURATION_UNITS = {
    "ms": "ms",
    "s": "s",
    "sec": "s",
    "min": "min",
    "m": "min",
    "h": "h",
    "hr": "h",
    "d": "d",
    "day": "_days",
    "days": "_days",
    "week": "_weeks",
    "weeks": "_weeks",
    "month": "_months",
    "months": "_months",
    "year": "_years",
    "years": "_years",
}
PERIODS = ("day", "week", "month", "quarter", "year")
MAX_DIGITS = 12

_NUMBER = r"[0-9]+(?:\.[0-9]+)?"
_DURATION = re.compile(rf"^({_NUMBER})\s*[_ ]?\s*([a-z]+)$", re.ASCII)
_COMPARISON = re.compile(rf"^(<=|>=|<|>|=)?\s*({_NUMBER})\s*([a-z%/]*)$", re.ASCII)
_PERCENTAGE = re.compile(rf"^({_NUMBER})\s*%?$", re.ASCII)
MAX_DECIMALS = 4


class FieldError(ValueError):
    pass


def _decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise FieldError("Enter a number.") from None
    if len(value.as_tuple().digits) > MAX_DIGITS or not value.is_finite():
        raise FieldError("This number is too large.")
    return value


def _plain(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _text_of(raw) -> str:
    if isinstance(raw, bool) or raw is None or isinstance(raw, list | dict):
        raise FieldError("Enter a single value.")
    if not isinstance(raw, str | int | float):
        raise FieldError("Enter text or a number.")
    try:
        text = str(raw).strip()
    except ValueError:  # an integer too long to print
        raise FieldError("This value is too long.") from None
    if len(text) > 200:
        raise FieldError("This value is too long.")
    return text


def _bounds(value: Decimal, definition: dict) -> None:
    minimum, maximum = definition.get("min"), definition.get("max")
    if minimum is not None and value < Decimal(str(minimum)):
        raise FieldError(f"Enter {minimum} or more.")
    if maximum is not None and value > Decimal(str(maximum)):
        raise FieldError(f"Enter {maximum} or less.")


def _integer(definition, raw):
    if isinstance(raw, bool):
        raise FieldError("Enter a whole number.")
    text = _text_of(raw).replace("_", "").replace(",", "")
    if not re.fullmatch(r"-?[0-9]+", text, re.ASCII):
        raise FieldError("Enter a whole number.")
    value = _decimal(text)
    _bounds(value, {"min": 0, **definition})
    return int(value)


def _number(definition, raw):
    if isinstance(raw, bool):
        raise FieldError("Enter a number.")
    text = _text_of(raw).replace("_", "").replace(",", "")
    if not re.fullmatch(rf"-?{_NUMBER}", text, re.ASCII):
        raise FieldError("Enter a number.")
    value = _decimal(text)
    if value.as_tuple().exponent < -MAX_DECIMALS:
        raise FieldError(f"Use at most {MAX_DECIMALS} decimals.")
    _bounds(value, {"min": 0, **definition})
    return _plain(value)


def _percentage(definition, raw):
    match = _PERCENTAGE.match(_text_of(raw))
    if not match:
        raise FieldError("Enter a percentage such as 99.95%.")
    value = _decimal(match.group(1))
    if value.as_tuple().exponent < -3:
        raise FieldError("Use at most three decimals.")
    _bounds(value, {"min": 0, "max": 100, **definition})
    return f"{match.group(1)}%"


def _comparison(definition, raw):
    match = _COMPARISON.match(_text_of(raw).lower())
    unit = definition.get("unit", "")
    if not match or (match.group(3) and match.group(3) != unit.lower()):
        example = f"<10{unit}" if unit else "<10"
        raise FieldError(f"Enter a comparison such as {example} (<, <=, >, >= or =).")
    _decimal(match.group(2))
    return f"{match.group(1) or ''}{match.group(2)}"


def _duration_parts(text: str) -> tuple[str, str]:
    match = _DURATION.match(text.lower())
    if not match or match.group(2) not in DURATION_UNITS:
        raise FieldError("Enter a duration such as 200ms, 2s, 15min, 8h or 7_years.")
    _decimal(match.group(1))
    return match.group(1), DURATION_UNITS[match.group(2)]


def _duration(definition, raw):
    number, unit = _duration_parts(_text_of(raw))
    allowed = definition.get("units")
    if allowed and unit.lstrip("_") not in allowed:
        raise FieldError(f"Use one of these units: {', '.join(allowed)}.")
    return f"{number}{unit}"


def _window(definition, raw):
    text = _text_of(raw).lower()
    duration, _, period = text.partition("/")
    if period.strip() not in PERIODS:
        raise FieldError("Enter a time per period such as 4h/month.")
    number, unit = _duration_parts(duration.strip())
    return f"{number}{unit}/{period.strip()}"


def _boolean(definition, raw):
    if isinstance(raw, bool):
        return raw
    text = _text_of(raw).lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    raise FieldError("Choose yes or no.")


def _choice(definition, raw):
    text = _text_of(raw)
    for choice in definition["choices"]:
        if text.lower() == str(choice).lower():
            return choice
    raise FieldError(f"Choose one of: {', '.join(map(str, definition['choices']))}.")


def _multichoice(definition, raw):
    if isinstance(raw, str):
        raw = [part for part in raw.split(",") if part.strip()]
    if not isinstance(raw, list):
        raise FieldError("Enter a list of values.")
    values = []
    for item in raw:
        value = _choice(definition, item)
        if value not in values:
            values.append(value)
    return values


def _text(definition, raw):
    if isinstance(raw, float):
        # YAML has already turned 14.10 into 14.1; only quotes keep such text as written.
        raise FieldError('Write this value in quotes, such as "14.10", to keep it as written.')
    text = _text_of(raw)
    limit = definition.get("max_length", 100)
    if len(text) > limit:
        raise FieldError(f"Use at most {limit} characters.")
    return text


_CLEANERS = {
    "integer": _integer,
    "number": _number,
    "percentage": _percentage,
    "comparison": _comparison,
    "duration": _duration,
    "window": _window,
    "boolean": _boolean,
    "choice": _choice,
    "multichoice": _multichoice,
    "text": _text,
}


def is_empty(raw) -> bool:
    return raw is None or raw == "" or raw == []


def clean(definition: dict, raw):
    """The canonical value of `raw` for this field, None for an empty optional field."""
    if is_empty(raw) or (isinstance(raw, str) and not raw.strip()):
        if definition.get("required", True):
            raise FieldError("This field is required.")
        return None
    return _CLEANERS[definition["type"]](definition, raw)


def display(definition: dict, value) -> str:
    """How a stored value reads on a page."""
    if value is None or value == []:
        return "—"
    if definition["type"] == "boolean":
        return "Yes" if value else "No"
    if definition["type"] == "multichoice":
        return ", ".join(map(str, value))
    text = (
        str(value).replace("_", " ") if definition["type"] in ("duration", "window") else str(value)
    )
    unit = definition.get("unit")
    if unit and definition["type"] in ("integer", "number", "comparison"):
        return f"{text} {unit}"
    return text


def as_form_value(definition: dict, value) -> str:
    """What an input shows for a stored value."""
    if value is None:
        return ""
    if definition["type"] == "boolean":
        return "true" if value else "false"
    if definition["type"] == "multichoice":
        return value
    return str(value)
