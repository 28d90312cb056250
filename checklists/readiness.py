"""The guide's readiness matrix: weighted score, decision band, blockers, and what would help.

Weighted total = sum over categories of weight × score (1–10) / 10, so 0–100 when the weights
add up to 100. The band is the highest whose minimum the total reaches. An open or failed
critical checklist item is a blocker and forces the lowest band whatever the score.

Pure functions over the playbook's readiness definition, the plan's items and its current
scores; `selectors.readiness` loads those.
"""

import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

SUGGESTION_RULE = (
    "Suggested score = 1 + 9 × (passed items ÷ applicable items), rounded to the nearest whole "
    "number; items marked not applicable are left out. Categories without a checklist have no "
    "suggestion."
)


@dataclass
class CategoryResult:
    key: str
    title: str
    weight: int
    checklist: str | None
    score: int | None = None
    rationale: str = ""
    scored_by: object = None
    scored_at: object = None
    passed: int = 0
    applicable: int = 0
    open_items: list = field(default_factory=list)

    @property
    def suggested(self) -> int | None:
        if not self.checklist or not self.applicable:
            return None
        fraction = Decimal(self.passed) / Decimal(self.applicable)
        return int((1 + 9 * fraction).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    @property
    def weighted(self) -> Decimal:
        return Decimal(self.weight * (self.score or 0)) / 10


@dataclass
class Advice:
    text: str
    items: list = field(default_factory=list)


@dataclass
class Readiness:
    categories: list[CategoryResult]
    bands: list[dict]
    blockers: list
    total: Decimal
    advice: list[Advice]

    @property
    def scored(self) -> int:
        return sum(c.score is not None for c in self.categories)

    @property
    def complete(self) -> bool:
        return self.scored == len(self.categories)

    @property
    def score_band(self) -> dict:
        return band_for(self.total, self.bands)

    @property
    def band(self) -> dict:
        """The decision: the score's band, or the lowest one while anything blocks."""
        return self.bands[-1] if self.blockers else self.score_band

    @property
    def next_band(self) -> dict | None:
        index = self.bands.index(self.score_band)
        return self.bands[index - 1] if index > 0 else None


def band_for(total: Decimal, bands: list[dict]) -> dict:
    """The first band (highest minimum first) whose minimum the total reaches."""
    return next(band for band in bands if total >= band["min"])


def compute(definition: dict, items, scores) -> Readiness:
    """`definition` is the playbook's `readiness`; `items` the plan's checklist items (with
    `checklist.key`); `scores` the current score per category key."""
    by_checklist: dict[str, list] = {}
    for item in items:
        by_checklist.setdefault(item.checklist.key, []).append(item)
    categories = []
    for category in definition["categories"]:
        result = CategoryResult(
            key=category["key"],
            title=category["title"],
            weight=category["weight"],
            checklist=category.get("checklist"),
        )
        for item in by_checklist.get(result.checklist, []) if result.checklist else []:
            if item.state != "not_applicable":
                result.applicable += 1
                result.passed += item.state == "passed"
                if item.state != "passed":
                    result.open_items.append(item)
        current = scores.get(result.key)
        if current is not None:
            result.score = current.score
            result.rationale = current.rationale
            result.scored_by = current.scored_by
            result.scored_at = current.scored_at
        categories.append(result)
    bands = sorted(definition["bands"], key=lambda band: band["min"], reverse=True)
    blockers = [item for item in items if item.critical and item.state in ("open", "failed")]
    total = sum((c.weighted for c in categories), Decimal(0))
    readiness = Readiness(categories, bands, blockers, total, advice=[])
    readiness.advice = _advice(readiness)
    return readiness


def _points(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.1")).normalize(), "f")


def _raise(category: CategoryResult, needed: Decimal) -> int:
    """The smallest raise of this category's score that adds `needed` points."""
    return math.ceil(needed * 10 / category.weight)


def _combination(readiness: Readiness, needed: Decimal) -> str:
    """Raise the heaviest categories first, each as far as needed, until the points are there."""
    steps = []
    for category in sorted(readiness.categories, key=lambda c: -c.weight):
        current = category.score or 0
        if needed <= 0 or current >= 10:
            continue
        new = min(10, current + _raise(category, needed))
        needed -= Decimal(category.weight * (new - current)) / 10
        steps.append(f"{category.title} from {category.score or 'unscored'} to {new}")
    return " and ".join(steps)


def _advice(readiness: Readiness) -> list[Advice]:
    """What would move the plan into the next band: blockers first, then scores and items."""
    advice = []
    if readiness.blockers:
        count = len(readiness.blockers)
        advice.append(
            Advice(
                f"Resolve the {count} blocker{'s' if count > 1 else ''} listed above: a critical "
                "item that is open or failed keeps the plan not ready whatever its score. "
                f"Without {'them' if count > 1 else 'it'}, the current score gives "
                f"“{readiness.score_band['title']}”."
            )
        )
    unscored = [c for c in readiness.categories if c.score is None]
    if unscored:
        names = ", ".join(c.title for c in unscored)
        advice.append(Advice(f"Score every category; not yet scored: {names}."))
    target = readiness.next_band
    if target is None:
        return advice
    needed = Decimal(target["min"]) - readiness.total
    lead = (
        f"To reach “{target['title']}” ({target['min']}+), "
        f"the total needs {_points(needed)} more points"
    )
    single = [
        f"{c.title} from {c.score or 'unscored'} to {(c.score or 0) + _raise(c, needed)}"
        for c in sorted(readiness.categories, key=lambda c: -c.weight)
        if (c.score or 0) + _raise(c, needed) <= 10
    ]
    if single:
        advice.append(Advice(f"{lead}: for example raise " + "; or ".join(single[:3]) + "."))
    else:
        advice.append(Advice(f"{lead}: for example raise {_combination(readiness, needed)}."))
    for category in readiness.categories:
        suggested = category.suggested
        if category.open_items and suggested is not None and suggested < 10:
            advice.append(
                Advice(
                    f"{category.title}: passing its remaining items raises the suggested score "
                    f"from {suggested} to 10.",
                    category.open_items[:3],
                )
            )
    return advice
