import base64
import hashlib
import hmac
import re
import struct
import time

import time_machine
from allauth.mfa.models import Authenticator
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from tests.factories import PASSWORD


def test_sign_up_needs_the_email_confirmed_before_logging_in(client_for, db):
    client = client_for(None)
    response = client.post(
        reverse("account_signup"),
        {
            "email": "new@example.com",
            "password1": "a-long-new-password",
            "password2": "a-long-new-password",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert client.get("/plans/").status_code == 302  # not logged in yet

    [message] = mail.outbox
    path = re.search(r"https?://testserver(/accounts/confirm-email/\S+/)", message.body).group(1)
    client.post(path)
    response = client.post(
        reverse("account_login"), {"login": "new@example.com", "password": "a-long-new-password"}
    )
    assert response.status_code == 302
    assert client.get("/plans/").status_code == 200


def test_sign_up_refuses_a_weak_password_and_a_taken_email(client_for, owner):
    client = client_for(None)
    weak = client.post(
        reverse("account_signup"),
        {"email": "weak@example.com", "password1": "123", "password2": "123"},
    )
    assert "This password is too short" in weak.content.decode()
    assert mail.outbox == []
    # A taken address is not revealed on the page (no account enumeration); its owner is
    # told by email instead, and no second account appears.
    client.post(
        reverse("account_signup"),
        {"email": owner.email, "password1": "a-long-new-pw", "password2": "a-long-new-pw"},
    )
    assert get_user_model().objects.filter(email__iexact=owner.email).count() == 1
    [notice] = mail.outbox
    assert notice.to == [owner.email]
    assert "already" in notice.body


def test_failed_logins_are_rate_limited_in_redis(client_for, owner):
    client = client_for(None)
    for _ in range(5):
        response = client.post(
            reverse("account_login"), {"login": owner.email, "password": "wrong"}
        )
        assert "not correct" in response.content.decode()
    response = client.post(reverse("account_login"), {"login": owner.email, "password": PASSWORD})
    assert "Too many failed login attempts" in response.content.decode()
    assert client.get("/plans/").status_code == 302


def test_account_pages_use_the_application_layout(client_for, owner):
    client = client_for(owner)
    for name in ("account_email", "account_change_password", "mfa_index", "mfa_activate_totp"):
        response = client.get(reverse(name), follow=True)
        body = response.content.decode()
        assert response.status_code == 200, name
        assert "TrustStram <span>Readiness</span>" in body
        assert (
            'class="side-nav"' in body or "Confirm Access" in body or "Enter your password" in body
        )


def test_password_reset_sends_a_link(client_for, owner):
    client_for(None).post(reverse("account_reset_password"), {"email": owner.email})
    [message] = mail.outbox
    assert "/accounts/password/reset/key/" in message.body


def totp_code(secret: str, at: float) -> str:
    """The code an authenticator app shows (RFC 6238: HMAC-SHA1, 30 s steps, 6 digits)."""
    key = base64.b32decode(secret, casefold=True)
    digest = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def test_two_factor_login_with_totp_and_recovery_codes(client_for, owner):
    client = client_for(None)
    client.post(reverse("account_login"), {"login": owner.email, "password": PASSWORD})
    # Turning on a second factor asks for the password again first.
    gate = client.get(reverse("mfa_activate_totp"))
    assert gate["Location"].startswith(reverse("account_reauthenticate"))
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    client.get(reverse("mfa_activate_totp"))
    secret = client.session["mfa.totp.secret"]

    wrong = client.post(reverse("mfa_activate_totp"), {"code": "000000"})
    assert "Incorrect code" in wrong.content.decode()
    start = time.time()
    client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret, start)})
    assert Authenticator.objects.filter(user=owner, type="totp").exists()
    codes = client.get(reverse("mfa_view_recovery_codes"))
    recovery = codes.context["unused_codes"]
    assert len(recovery) == 10

    # The next login asks for the second factor before it lets the user in.
    client.post(reverse("account_logout"))
    with time_machine.travel(start + 90, tick=False):
        response = client.post(
            reverse("account_login"), {"login": owner.email, "password": PASSWORD}
        )
        assert response["Location"] == reverse("mfa_authenticate")
        assert client.get("/plans/").status_code == 302
        client.post(reverse("mfa_authenticate"), {"code": totp_code(secret, start + 90)})
        assert client.get("/plans/").status_code == 200

    # A recovery code works once in place of the app.
    client.post(reverse("account_logout"))
    client.post(reverse("account_login"), {"login": owner.email, "password": PASSWORD})
    client.post(reverse("mfa_authenticate"), {"code": recovery[0]})
    assert client.get("/plans/").status_code == 200
