from django.conf import settings
from django.db import models
from django.db.models import Q

from planning.models import DeploymentPlan, Task
from truststream.audit.history import tracked
from truststream.validators import single_line


@tracked()
class Checklist(models.Model):
    plan = models.ForeignKey(DeploymentPlan, on_delete=models.CASCADE, related_name="checklists")
    key = models.SlugField(max_length=50)
    title = models.CharField(max_length=200)
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["plan", "position"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "key"], name="checklist_key_unique"),
        ]

    def __str__(self) -> str:
        return self.title


@tracked()
class ChecklistItem(models.Model):
    class State(models.TextChoices):
        OPEN = "open", "Open"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"
        NOT_APPLICABLE = "not_applicable", "Not applicable"

    plan = models.ForeignKey(DeploymentPlan, on_delete=models.CASCADE, related_name="+")
    checklist = models.ForeignKey(Checklist, on_delete=models.CASCADE, related_name="items")
    text = models.CharField(max_length=300)
    position = models.PositiveSmallIntegerField()
    critical = models.BooleanField(default=False)
    conditional = models.BooleanField(default=False)
    state = models.CharField(max_length=20, choices=State.choices, default=State.OPEN)
    na_reason = models.CharField(
        "reason it does not apply", max_length=500, blank=True, validators=[single_line]
    )
    note = models.TextField(max_length=20_000, blank=True)
    # Who is to see the item through; a member of the plan (released when they leave it). Not
    # part of what a signature covers: signoffs.snapshot leaves it out.
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="checklist_items",
    )
    # What the item of the previous environment's plan said (`services.items_carry`): a state
    # other than open is carried as `carried_state` (with its reason, from `previous_item`)
    # while this item stays open, so that it counts for nothing until someone confirms it
    # here. Any state set in this plan ends the carry.
    previous_item = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    carried_state = models.CharField(max_length=20, choices=State.choices, blank=True)
    carried_reason = models.CharField(max_length=500, blank=True)
    carried_from = models.CharField(
        max_length=20, choices=DeploymentPlan.Environment.choices, blank=True
    )
    # Compare-and-set: every change bumps it, a change made from an older version is refused.
    version = models.PositiveIntegerField(default=1)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    changed_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["checklist__position", "position"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state="not_applicable") | ~Q(na_reason=""),
                name="item_not_applicable_needs_reason",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["open", "passed", "failed", "not_applicable"]),
                name="item_state_valid",
            ),
            # A carried state waits for confirmation: the item is open until then.
            models.CheckConstraint(
                condition=Q(carried_state="")
                | Q(state="open", carried_state__in=["passed", "failed", "not_applicable"]),
                name="item_carried_state_open",
            ),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def is_carried(self) -> bool:
        """Carried from the previous environment's plan and not confirmed here yet."""
        return bool(self.carried_state)

    @property
    def blocks_readiness(self) -> bool:
        return self.critical and self.state in (self.State.OPEN, self.State.FAILED)


@tracked()
class EvidenceLink(models.Model):
    plan = models.ForeignKey(DeploymentPlan, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(ChecklistItem, on_delete=models.CASCADE, related_name="links")
    url = models.URLField(max_length=1000)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item", "added_at", "id"]

    def __str__(self) -> str:
        return self.url


@tracked()
class EvidenceFile(models.Model):
    """A file attached to an item. The stored name is generated; `name` is what the uploader
    called it, cleaned. The content is never served inline."""

    plan = models.ForeignKey(DeploymentPlan, on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey(ChecklistItem, on_delete=models.CASCADE, related_name="files")
    file = models.FileField(upload_to="evidence/%Y/%m/", max_length=300)
    name = models.CharField(max_length=200)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=100)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item", "added_at", "id"]

    def __str__(self) -> str:
        return self.name


@tracked()
class ReadinessScore(models.Model):
    """One score given to one readiness category; the latest per category is the current one
    and the earlier ones are its history. Never edited: a new score is a new row."""

    plan = models.ForeignKey(
        DeploymentPlan, on_delete=models.CASCADE, related_name="readiness_scores"
    )
    category = models.SlugField(max_length=50)
    score = models.PositiveSmallIntegerField()
    rationale = models.TextField(max_length=2000)
    scored_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    scored_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["plan", "-scored_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=1, score__lte=10), name="readiness_score_1_to_10"
            ),
            models.CheckConstraint(condition=~Q(rationale=""), name="readiness_rationale"),
        ]
        indexes = [models.Index(fields=["plan", "category", "-scored_at"])]

    def __str__(self) -> str:
        return f"{self.category}: {self.score}"


@tracked()
class Comment(models.Model):
    """A message in the thread of the plan, of one of its tasks or of one of its checklist
    items. Markdown, shown with raw HTML off. Its author edits it in place (it then shows as
    edited); its author or an owner deletes it. The audit trail keeps every version."""

    plan = models.ForeignKey(DeploymentPlan, on_delete=models.CASCADE, related_name="comments")
    task = models.ForeignKey(
        Task, on_delete=models.CASCADE, null=True, blank=True, related_name="comments"
    )
    item = models.ForeignKey(
        ChecklistItem, on_delete=models.CASCADE, null=True, blank=True, related_name="comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    body = models.TextField(max_length=5000)
    created_at = models.DateTimeField(auto_now_add=True)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(task__isnull=True) | Q(item__isnull=True),
                name="comment_one_target",
            ),
            models.CheckConstraint(condition=~Q(body=""), name="comment_not_empty"),
        ]
        indexes = [models.Index(fields=["plan", "created_at"])]

    def __str__(self) -> str:
        return f"Comment {self.pk} on {self.plan}"


@tracked()
class Mention(models.Model):
    """A member named with @ in a comment; they are notified once."""

    plan = models.ForeignKey(DeploymentPlan, on_delete=models.CASCADE, related_name="+")
    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="mentions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["comment", "user"], name="mention_once_per_comment")
        ]

    def __str__(self) -> str:
        return f"{self.user} in comment {self.comment_id}"
