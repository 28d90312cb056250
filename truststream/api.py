"""What every part of the JSON API shares: the token authentication, the errors and their
JSON bodies (version 1, assembled in `gates.api`; OpenAPI at /api/v1/openapi.json).

A personal token acts with its owner's permissions and nothing more: a plan (or a part of a
plan) its owner cannot see is 404, a change its owner may not make is 403. Every error is JSON
with a `detail`. Each app declares its operations on a `ninja.Router` in its `api.py`; the top
app mounts them, so that the API grows without a lower app importing a higher one.
"""

from typing import Annotated

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from ninja import NinjaAPI, Path, Schema
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer
from pydantic import Field

from truststream.accounts import second_factor_missing
from truststream.audit.history import context
from truststream.services import token_find, token_throttle

# Ids in paths: positive, and within Postgres' bigint, so that no id reaches the database
# that it would refuse.
MAX_ID = 2**63 - 1
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]


# Text from a caller: Postgres stores no NUL character, so none gets past the schema.
Text = Annotated[str, Field(pattern=r"^[^\x00]*$")]


class RateLimited(Exception):
    def __init__(self, retry_after: int):
        super().__init__(retry_after)
        self.retry_after = retry_after


class SecondFactorMissing(Exception):
    pass


class TokenAuth(HttpBearer):
    def authenticate(self, request, token):
        found = token_find(token)
        if found is None:
            return None
        # Counted before anything else is checked, so that refused calls count too.
        retry_after = token_throttle(token=found)
        if retry_after:
            raise RateLimited(retry_after)
        user = found.user
        if second_factor_missing(user):
            raise SecondFactorMissing
        request.user = user
        # The request's audit context began before the token was read: name the user now.
        context(user=user.pk, api="v1")
        return user


class ErrorOut(Schema):
    detail: str


class InvalidOut(Schema):
    detail: str
    errors: list[dict] | dict | None = Field(
        None,
        description="What was wrong: pydantic's errors (422), or messages by field (400); "
        "absent when the body is not JSON at all (400).",
    )


# The answers any operation may give besides its own.
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: InvalidOut, 429: ErrorOut}


def error(api: NinjaAPI, request, status: int, detail, **extra):
    return api.create_response(request, {"detail": detail, **extra}, status=status)


def install_error_handlers(api: NinjaAPI) -> None:
    """Answer every refusal with JSON and a `detail`."""

    @api.exception_handler(Http404)
    def not_found(request, exc):
        return error(api, request, 404, "Not found.")

    @api.exception_handler(PermissionDenied)
    def forbidden(request, exc):
        return error(api, request, 403, "Your role on this plan does not allow this.")

    @api.exception_handler(AuthenticationError)
    def unauthorised(request, exc):
        return error(api, request, 401, "A valid, unexpired, unrevoked token is required.")

    @api.exception_handler(RateLimited)
    def rate_limited(request, exc):
        response = error(
            api,
            request,
            429,
            f"Too many calls with this token: at most {settings.API_RATE_PER_MINUTE} a minute. "
            f"Try again in {exc.retry_after} seconds.",
        )
        response["Retry-After"] = str(exc.retry_after)
        return response

    @api.exception_handler(SecondFactorMissing)
    def second_factor(request, exc):
        return error(
            api,
            request,
            403,
            "This token's owner holds an approval role, and this instance requires two-factor "
            "authentication of every role-holder. Its calls are refused until the owner sets "
            "up a second factor in their account.",
        )

    @api.exception_handler(NinjaValidationError)
    def invalid_request(request, exc):
        return error(api, request, 422, "The request is not valid.", errors=exc.errors)

    @api.exception_handler(ValidationError)
    def refused(request, exc):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        return error(api, request, 400, "Nothing was changed.", errors=errors)
