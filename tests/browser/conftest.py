import os

import pytest
from playwright.sync_api import sync_playwright

# Playwright's sync API runs an event loop in the test thread; the test still talks to the
# database synchronously (factories, the outbox), which is safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Every page reports what its Content-Security-Policy blocked: the document's
# securitypolicyviolation event, forwarded through a binding (bindings and init scripts are not
# subject to the page's policy), and the console message Chromium writes for each violation.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline code"}`
    + ` in ${event.sourceFile || event.documentURI}:${event.lineNumber}`
    + (event.sample ? ` (${event.sample})` : "")
  );
});
"""


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_server):
    """`new_page()`: a page in a fresh browser context (its own cookies), on the live server;
    `new_page(viewport={"width": 390, "height": 844})` for a phone's screen.

    The test fails if any page it opened reported a Content-Security-Policy violation.
    """
    contexts = []
    violations = []

    def reported(text):
        violations.append(f"event: {text}")

    def console(message):
        if "Content Security Policy" in message.text:
            violations.append(f"console: {message.text}")

    def make(**options):
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(10_000)
        context.expose_function("reportCspViolation", reported)
        context.add_init_script(REPORT_CSP_VIOLATIONS)
        context.on("console", console)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
    if violations:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(violations))
