"""The deployment tools the tests run: installed from PyPI into the same environment as pytest
(the `dev` extra), so the tests find them beside the Python that runs them."""

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert found, f"{name} is not installed: it comes with the dev extra (pyproject.toml)"
    return found
