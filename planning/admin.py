from django.contrib import admin

from planning.models import DeploymentPlan, PlanMembership


class PlanMembershipInline(admin.TabularInline):
    """Read-only: memberships change through the plan page, whose service keeps the
    object permissions in step with them."""

    model = PlanMembership
    extra = 0
    fields = readonly_fields = ["user", "role", "added_by", "created_at"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(DeploymentPlan)
class DeploymentPlanAdmin(admin.ModelAdmin):
    list_display = ["title", "release_version", "environment", "status", "archived_at"]
    list_filter = ["environment", "status"]
    search_fields = ["title", "release_version"]
    inlines = [PlanMembershipInline]
    raw_id_fields = ["created_by"]
