"""GitLab's side: protected environments with deployment approvals.

- The webhook for deployment events, checked with `X-Gitlab-Token` (`token_valid`); a
  deployment waiting for approval arrives with `status: "blocked"`.
- The answer: `POST /projects/:id/deployments/:deployment_id/approval` with
  `{status: "approved" | "rejected", comment}`, authenticated with GITLAB_TOKEN.
"""

import hmac
import re

from django.conf import settings

EVENT = "Deployment Hook"
BLOCKED = "blocked"
# A deployment in one of these no longer waits for anybody's approval.
FINISHED = {"running", "success", "failed", "canceled", "skipped"}
PROJECT_PATH = re.compile(r"[A-Za-z0-9_.-]{1,255}(/[A-Za-z0-9_.-]{1,255}){1,20}", re.ASCII)


def configured() -> bool:
    return bool(settings.GITLAB_WEBHOOK_TOKEN)


def token_valid(header: str) -> bool:
    secret = settings.GITLAB_WEBHOOK_TOKEN
    return bool(secret) and hmac.compare_digest(secret.encode(), header.encode())


def headers() -> dict[str, str]:
    return {"PRIVATE-TOKEN": settings.GITLAB_TOKEN, "Accept": "application/json"}


def approval_url(project_id: int, deployment_id: int) -> str:
    return f"{settings.GITLAB_API_URL}/projects/{project_id}/deployments/{deployment_id}/approval"


def approval_body(state: str, comment: str) -> dict:
    return {"status": state, "comment": comment}


def deployment_fields(payload: dict) -> dict:
    """What a deployment event says, or ValueError if it is not one."""
    if payload.get("object_kind") != "deployment":
        raise ValueError("The event is not a deployment event.")
    try:
        project = payload["project"]
        project_id = int(project["id"])
        path = project["path_with_namespace"]
        deployment_id = int(payload["deployment_id"])
        environment = payload["environment"]
        status = payload["status"]
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"The event lacks {error}.") from error
    if not isinstance(path, str) or not PROJECT_PATH.fullmatch(path):
        raise ValueError("The event's project path is not a path.")
    if not isinstance(environment, str) or not 0 < len(environment) <= 255:
        raise ValueError("The event's environment is not a name.")
    if not isinstance(status, str):
        raise ValueError("The event's status is not a word.")
    return {
        "repository": path.lower(),
        "environment": environment,
        "project_id": project_id,
        "deployment_id": deployment_id,
        "status": status,
        "ref": str(payload.get("ref") or "")[:255],
        "sha": str(payload.get("short_sha") or "")[:64],
    }
