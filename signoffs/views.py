from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_http_methods

from checklists.models import ChecklistItem
from planning import reads
from planning.access import CHANGE, MANAGE, plan_view
from planning.selectors import plan_people
from signoffs import packet_selectors, packets, policies, selectors, services, snapshot, status
from signoffs.forms import (
    DelegationForm,
    PacketRequestForm,
    RolePolicyForm,
    SignForm,
    VerifyForm,
)
from signoffs.models import ReadinessPacket, SignoffRequirement
from truststream.accounts import reauthentication_url
from truststream.forms import apply_validation_error
from truststream.models import Team
from truststream.parsing import parse_id
from truststream.ratelimit import rate_limit
from truststream.uploads import upload_limit


@plan_view()
def signoffs(request: HttpRequest, plan) -> HttpResponse:
    state = policies.signoff_state(plan)
    return render(
        request,
        "signoffs/signoffs.html",
        {
            "plan": plan,
            "state": state,
            "history": selectors.signoff_history(plan),
            "documentation": ChecklistItem.objects.filter(plan=plan, checklist__key="documentation")
            .select_related("changed_by")
            .order_by("position"),
            "members": plan_people(plan).order_by("email"),
            # The teams an owner may give a role to: the plan's own.
            "teams": list(Team.objects.filter(plan_teams__plan=plan)) if plan.manageable else [],
            "delegations": policies.role_delegations(plan),
            "today": timezone.localdate(),
            # One role per person: the assign menus say who already holds which role.
            "held": {
                role.requirement.assignee_id: role.requirement.title
                for role in state.roles
                if role.requirement.assignee_id is not None
            },
            "tab": "signoffs",
        },
    )


def _requirement(plan, role: str) -> SignoffRequirement:
    try:
        requirement = SignoffRequirement.objects.select_related("assignee", "team").get(
            plan=plan, role=role
        )
    except SignoffRequirement.DoesNotExist:
        raise Http404 from None
    requirement.plan = plan
    return requirement


@plan_view(MANAGE, methods=("POST",))
def role_assign(request: HttpRequest, plan, role: str) -> HttpResponse:
    requirement = _requirement(plan, role)
    sent = request.POST.get("assignee") or None
    assignee = None
    if sent is not None:
        assignee_id = parse_id(sent)
        assignee = (
            plan_people(plan).filter(pk=assignee_id).first() if assignee_id is not None else None
        )
        if assignee is None:
            messages.error(request, "Choose a member of this plan.")
            return redirect("signoffs:signoffs", plan.pk)
    try:
        services.role_assign(requirement=requirement, assignee=assignee)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        who = (assignee.get_full_name() or assignee.email) if assignee else "nobody"
        messages.success(request, f"{requirement.title}: {who}.")
    return redirect("signoffs:signoffs", plan.pk)


@plan_view(MANAGE, methods=("POST",))
def role_required(request: HttpRequest, plan, role: str) -> HttpResponse:
    requirement = _requirement(plan, role)
    try:
        services.role_set_required(
            requirement=requirement, required=request.POST.get("required") == "on"
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("signoffs:signoffs", plan.pk)


@plan_view(MANAGE, methods=("POST",))
def role_policy(request: HttpRequest, plan, role: str) -> HttpResponse:
    requirement = _requirement(plan, role)
    form = RolePolicyForm(request.POST, teams=Team.objects.filter(plan_teams__plan=plan))
    if form.is_valid():
        data = form.cleaned_data
        try:
            requirement = services.role_policy_set(
                requirement=requirement,
                team=data["team"] if data["holder"] == "team" else None,
                quorum=data["quorum"] if data["holder"] == "team" else 1,
                approval_days=data["approval_days"],
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"{requirement.title}: {policies.policy_text(requirement)}.")
    else:
        messages.error(request, _form_errors(form))
    return redirect("signoffs:signoffs", plan.pk)


def _form_errors(form) -> str:
    return " ".join(
        " ".join(errors)
        if name == "__all__"
        else f"{form.fields[name].label or name.title()}: {' '.join(errors)}"
        for name, errors in form.errors.items()
    )


@plan_view(methods=("POST",))
def delegation_create(request: HttpRequest, plan, role: str) -> HttpResponse:
    """The role's holder names a deputy; nobody else may."""
    requirement = _requirement(plan, role)
    if requirement.assignee_id != request.user.pk or plan.is_archived:
        raise PermissionDenied
    form = DelegationForm(request.POST, people=plan_people(plan))
    if not form.is_valid():
        messages.error(request, _form_errors(form))
        return redirect("signoffs:signoffs", plan.pk)
    try:
        delegation = services.delegation_create(
            requirement=requirement, holder=request.user, **form.cleaned_data
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            f"{delegation.deputy.get_full_name() or delegation.deputy.email} may sign as "
            f"{requirement.title} on your behalf from {delegation.starts_on:%d %b %Y} to "
            f"{delegation.ends_on:%d %b %Y}.",
        )
    return redirect("signoffs:signoffs", plan.pk)


@plan_view(methods=("POST",))
def delegation_end(request: HttpRequest, plan, role: str, delegation_id: int) -> HttpResponse:
    """The holder who named the deputy, or an owner, ends a delegation."""
    requirement = _requirement(plan, role)
    delegation = requirement.delegations.filter(pk=delegation_id).first()
    if delegation is None:
        raise Http404
    if delegation.holder_id != request.user.pk and not plan.manageable:
        raise PermissionDenied
    services.delegation_end(delegation=delegation)
    messages.success(request, "The deputy no longer signs for this role.")
    return redirect("signoffs:signoffs", plan.pk)


def _client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


@plan_view(methods=("GET", "POST"))
def sign(request: HttpRequest, plan, role: str) -> HttpResponse:
    """Review what the role covers and sign it. Nobody signs for somebody else."""
    requirement = _requirement(plan, role)
    if not policies.signs_for(requirement, request.user):
        raise PermissionDenied
    if settings.SIGNOFF_REQUIRE_MFA and not is_mfa_enabled(request.user):
        messages.error(
            request,
            "Signing needs two-factor authentication on this instance. Activate an "
            "authenticator app in your account, then sign.",
        )
        return redirect("mfa_index")
    # A signature needs the password again, and the second factor too where the signer has one.
    gate = reauthentication_url(request, request.path)
    if gate is not None:
        return redirect(gate)
    return _sign(request, plan, requirement)


def _sign(request: HttpRequest, plan, requirement: SignoffRequirement) -> HttpResponse:
    delegation = (
        policies.active_delegation(requirement, request.user)
        if requirement.assignee_id not in (None, request.user.pk)
        else None
    )
    on_behalf_of = delegation.holder if delegation is not None else None
    sections = snapshot.covered(snapshot.sections(plan), requirement.covers)
    current = snapshot.digest(sections)
    form = SignForm(request.POST or None, initial={"digest": current})
    if request.method == "POST" and form.is_valid():
        try:
            signoff = services.signoff_record(
                requirement=requirement,
                signer=request.user,
                decision=form.cleaned_data["decision"],
                seen_digest=form.cleaned_data["digest"],
                comment=form.cleaned_data["comment"],
                reason=form.cleaned_data["reason"],
                ip_address=_client_ip(request),
                user_agent=request.headers.get("User-Agent", ""),
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(request, f"Recorded: “{signoff.meaning}”.")
            return redirect("signoffs:signoffs", plan.pk)
    return render(
        request,
        "signoffs/sign.html",
        {
            "plan": plan,
            "requirement": requirement,
            "sections": sections,
            "digest": current,
            "form": form,
            "meaning_approve": services.meaning(requirement, "approve", on_behalf_of),
            "meaning_reject": services.meaning(requirement, "reject", on_behalf_of),
            "on_behalf_of": on_behalf_of,
            "tab": "signoffs",
        },
        status=400 if form.errors else 200,
    )


@plan_view(CHANGE, methods=("POST",))
def plan_status(request: HttpRequest, plan) -> HttpResponse:
    """Move the plan to another status, if its rules and the user's role allow it."""
    target = request.POST.get("status", "")
    try:
        plan = status.plan_transition(plan=plan, to=target, actor_can=status.actor_may(plan))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"The plan is now {plan.get_status_display().lower()}.")
    return redirect("planning:plan_detail", plan.pk)


def _packets_context(plan) -> dict:
    """The plan's packets, newest first, each marked superseded when the plan moved on.

    Reading the plan's snapshot costs a couple of dozen queries; what the list needs of it
    (the revision's digest, whether a final packet may be asked for) is cached under the
    plan's version, which every change raises."""

    def current() -> tuple[str, bool]:
        data = packet_selectors.packet_contents(plan)
        return packets.revision_digest(data), packets.packet_may_be_final(plan, data)

    current, may_be_final = reads.cached(plan, "packets-current", current)
    rows = list(plan.packets.select_related("requested_by").order_by("-revision", "kind", "-id"))
    for packet in rows:
        packet.superseded = packets.packet_superseded(packet, current)
    return {
        "plan": plan,
        "packets": rows,
        "pending": any(packet.pending for packet in rows),
        "may_be_final": may_be_final,
    }


@plan_view()
def packet_list(request: HttpRequest, plan) -> HttpResponse:
    """The plan's packets; htmx polls the list while one is being rendered."""
    context = _packets_context(plan)
    if request.htmx:
        return render(request, "signoffs/_packet_list.html", context)
    initial = "final" if context["may_be_final"] else "draft"
    form = PacketRequestForm(initial={"kind": initial})
    return render(request, "signoffs/packets.html", {**context, "form": form, "tab": "packets"})


@plan_view(CHANGE, methods=("POST",))
def packet_request(request: HttpRequest, plan) -> HttpResponse:
    form = PacketRequestForm(request.POST)
    if form.is_valid():
        try:
            packet = services.packet_request(
                plan=plan, requested_by=request.user, kind=form.cleaned_data["kind"]
            )
        except ValidationError as error:
            apply_validation_error(form, error)
        else:
            messages.success(
                request,
                f"Packet revision {packet.revision} ({packet.get_kind_display().lower()}): "
                f"{packet.get_status_display().lower()}.",
            )
            return redirect("signoffs:packet_list", plan.pk)
    context = _packets_context(plan)
    return render(
        request, "signoffs/packets.html", {**context, "form": form, "tab": "packets"}, status=400
    )


def packet_file(plan, packet_id: int) -> FileResponse:
    """The ready packet's PDF as a download, or 404; the caller has checked that the user may
    read the plan (this page and the API's download both answer with it)."""
    packet = plan.packets.filter(pk=packet_id, status=ReadinessPacket.Status.READY).first()
    if packet is None:
        raise Http404
    name = f"{slugify(plan.title)[:60] or 'plan'}-revision-{packet.revision}-{packet.kind}.pdf"
    # Streamed from the storage by this process, after the access check: the storage is never
    # exposed to the browser, and an outsider learns nothing, not even a bucket's address.
    try:
        handle = default_storage.open(packet.file.name, "rb")
    except FileNotFoundError:
        raise Http404 from None
    return FileResponse(
        handle,
        as_attachment=True,
        filename=name,
        content_type="application/pdf",
    )


@plan_view()
def packet_download(request: HttpRequest, plan, packet_id: int) -> FileResponse:
    return packet_file(plan, packet_id)


@upload_limit("PACKET_VERIFY_MAX_BYTES")
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def packet_verify(request: HttpRequest) -> HttpResponse:
    """Is this file (or this SHA-256) a packet of record? Anyone logged in may ask: whoever
    holds the file already holds what it says. Each check costs a process of its own
    (signoffs.pdfcheck), so each person may make only so many a minute."""
    if request.method != "POST":
        return render(request, "signoffs/verify.html", {"form": VerifyForm()})
    wait = rate_limit(
        f"packet-verify:{request.user.pk}",
        limit=settings.PACKET_VERIFY_PER_MINUTE,
        seconds=60,
    )
    if wait:
        refusal = (
            f"You have checked {settings.PACKET_VERIFY_PER_MINUTE} packets in the last minute, "
            f"the most this page allows; try again in {wait} seconds."
        )
        response = render(
            request,
            "signoffs/verify.html",
            {"form": VerifyForm(), "refusal": refusal},
            status=429,
        )
        response["Retry-After"] = str(wait)
        return response
    form = VerifyForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "signoffs/verify.html", {"form": form}, status=400)
    result = packet_selectors.packet_verify(
        upload=form.cleaned_data["file"], sha256=form.cleaned_data["sha256"], user=request.user
    )
    return render(request, "signoffs/verify.html", {"form": form, "result": result})
