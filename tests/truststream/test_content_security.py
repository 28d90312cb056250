"""Every page is served with a Content-Security-Policy that refuses inline code.

The browser tests (tests/browser/conftest.py) fail on any violation a page reports; these
check the header itself, and that no template brings back an inline script, handler or style.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Rendered on the server into a PDF by WeasyPrint; no browser applies a policy to them.
PDF_TEMPLATES = ROOT / "templates" / "signoffs" / "packet"


def policy(response) -> dict[str, list[str]]:
    directives = {}
    for part in response.headers["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


@pytest.mark.parametrize(
    ("who", "url"),
    [
        ("owner", "/plans/{plan}/"),
        ("owner", "/plans/{plan}/signoffs/"),
        ("owner", "/accounts/tokens/"),
        (None, "/accounts/login/"),
    ],
)
def test_pages_forbid_inline_scripts_and_styles(who, url, request, client_for, plan):
    client = client_for(request.getfixturevalue(who) if who else None)
    response = client.get(url.format(plan=plan.pk))
    assert response.status_code == 200
    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"]


def test_an_error_page_is_served_with_the_policy_too(client_for, outsider, plan):
    response = client_for(outsider).get(f"/plans/{plan.pk}/")
    assert response.status_code == 404
    assert policy(response)["script-src"] == ["'self'"]


INLINE = {
    "an inline event handler": re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE),
    "a style attribute": re.compile(r"<[^>]*\sstyle\s*=", re.IGNORECASE),
    "a <style> element": re.compile(r"<style\b", re.IGNORECASE),
    "an inline <script>": re.compile(
        r"<script\b(?![^>]*\ssrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE
    ),
    "a javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


def test_no_page_template_carries_inline_code_or_style():
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        if PDF_TEMPLATES in path.parents:
            continue
        text = path.read_text()
        found += [
            f"{path.relative_to(ROOT)}: {what}"
            for what, pattern in INLINE.items()
            if pattern.search(text)
        ]
    assert found == []
