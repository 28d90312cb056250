"""A real OpenID Connect provider on loopback for the single sign-on tests: tests/oidc's
provider.js (oidc-provider from npm) run with the machine's Node.js. Its packages are
installed from tests/oidc/package-lock.json the first time (`npm ci`), so a clean clone needs
nothing more than `node` and `npm` (bin/system-packages)."""

import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent / "oidc"
CLIENT_ID = "truststream-tests"
CLIENT_SECRET = "provider-test-secret"
PASSWORD = "provider-test-password"


def install() -> None:
    if (HERE / "node_modules" / "oidc-provider").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is missing: run bin/system-packages (nodejs and npm)")
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(HERE)],
        check=True,
        timeout=300,
    )


class Provider:
    def __init__(self, redirect_uri: str):
        install()
        node = shutil.which("node")
        if node is None:
            pytest.fail("node is missing: run bin/system-packages (nodejs and npm)")
        environment = {
            **os.environ,
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_REDIRECT_URI": redirect_uri,
        }
        self.process = subprocess.Popen(
            [node, str(HERE / "provider.js")],
            cwd=HERE,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        first = self.process.stdout.readline()
        if not first:
            self.process.wait(timeout=10)
            pytest.fail(f"the OIDC provider did not start: {self.process.stderr.read()}")
        self.issuer = json.loads(first)["issuer"]
        self.errors: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        for line in self.process.stderr:
            if "WARNING" not in line:
                self.errors.append(line)

    def settings(self) -> dict:
        """What the OIDC_* environment variables would give settings.py."""
        from truststream.settings import oidc_providers

        return oidc_providers(
            self.issuer,
            CLIENT_ID,
            CLIENT_SECRET,
            "Sign in with Example SSO",
            ["openid", "profile", "email", "groups"],
        )

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
