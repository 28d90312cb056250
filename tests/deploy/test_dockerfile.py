"""The Dockerfile cannot be built here (no container engine), so hadolint reads it instead."""

import subprocess

from tests.deploy.tools import ROOT, tool


def test_hadolint_finds_nothing_in_the_dockerfile():
    # .hadolint.yaml sets the threshold (style: every finding fails) and the ignored rules.
    result = subprocess.run(
        [tool("hadolint"), "--no-color", "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_a_dockerfile_that_runs_as_root(tmp_path):
    # The same command and configuration do fail on a finding.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:3.11-slim-bookworm\nUSER root\nRUN pip install django\n")
    result = subprocess.run(
        [tool("hadolint"), "--no-color", "--config", str(ROOT / ".hadolint.yaml"), str(bad)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0
    assert "DL3002" in result.stdout  # the last USER is root
    assert "DL3013" in result.stdout  # an unpinned pip install


def test_the_image_runs_as_a_numeric_non_root_user():
    users = [
        line.split()[1]
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line.startswith("USER ")
    ]
    # Kubernetes checks runAsNonRoot only against a numeric user.
    assert users and users[-1].split(":")[0].isdigit() and not users[-1].startswith("0")
