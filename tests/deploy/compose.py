"""docker-compose.yml as the tests read it: loaded, with `${VAR}` interpolated as Compose does."""

import re

import yaml

from tests.deploy.tools import ROOT

COMPOSE_FILE = ROOT / "docker-compose.yml"
_VARIABLE = re.compile(
    r"\$\$|\$\{(?P<braced>[A-Za-z_]\w*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$(?P<plain>[A-Za-z_]\w*)"
)


def interpolate(text: str, variables: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}` and `$$`."""

    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("braced") or match.group("plain")
        value = variables.get(name)
        op, arg = match.group("op"), match.group("arg")
        unset = value is None or (value == "" and op is not None and op.startswith(":"))
        if op and op.endswith("?") and unset:
            raise ValueError(f"{name}: {arg}")
        if op and op.endswith("-") and unset:
            return arg
        return value or ""

    return _VARIABLE.sub(substitute, text)


def _interpolated(node, variables):
    if isinstance(node, str):
        return interpolate(node, variables)
    if isinstance(node, list):
        return [_interpolated(item, variables) for item in node]
    if isinstance(node, dict):
        return {key: _interpolated(value, variables) for key, value in node.items()}
    return node


def load(variables: dict[str, str] | None = None) -> dict:
    """The file with its YAML anchors merged and, given variables, interpolated."""
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    return compose if variables is None else _interpolated(compose, variables)


def app_services(compose: dict) -> dict[str, dict]:
    """The services that run our image (built from the Dockerfile)."""
    return {name: service for name, service in compose["services"].items() if "build" in service}
