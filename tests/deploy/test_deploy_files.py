"""deploy/: every YAML file parses, and the compose file, Kubernetes manifests and env example
name only environment variables the Settings class reads (a typo would be silently ignored)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import Settings, env_names

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
# Names the deploy files may use that are not Settings: the image's healthcheck port, the
# PostgreSQL container's own variables, the YAML file's path.
NOT_SETTINGS = {"HEALTH_PORT", "POSTGRES_USER", "POSTGRES_DB", "POSTGRES_PASSWORD", "RUNLOCALAI_CONFIG"}
YAML_FILES = sorted([*DEPLOY.glob("*.yaml"), *DEPLOY.glob("*.yml"), *DEPLOY.glob("k8s/*.yaml")])


def _known() -> set[str]:
    names = set().union(*env_names().values())
    return {n.upper() for n in names} | NOT_SETTINGS


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: p.name)
def test_yaml_parses(path: Path) -> None:
    """Each deploy YAML file is valid YAML with at least one document."""
    assert _docs(path)


def _k8s_env_names() -> set[str]:
    names: set[str] = set()
    for path in DEPLOY.glob("k8s/*.yaml"):
        for doc in _docs(path):
            if doc["kind"] in ("ConfigMap",):
                names |= set(doc["data"])
            if doc["kind"] == "Secret":
                names |= set(doc["stringData"])
            spec = ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}
            for container in spec.get("containers", []):
                names |= {e["name"] for e in container.get("env", [])}
    return names


def _compose_env_names() -> set[str]:
    compose = _docs(DEPLOY / "docker-compose.yml")[0]
    names: set[str] = set()
    for service in compose["services"].values():
        names |= set(service.get("environment") or {})
    return names


def _env_file_names(path: Path) -> set[str]:
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", path.read_text(), re.MULTILINE))


def test_env_names_are_settings() -> None:
    """compose, Kubernetes and the env example use only names Settings reads."""
    known = _known()
    for source, names in (("k8s", _k8s_env_names()), ("compose", _compose_env_names()),
                          ("env example", _env_file_names(DEPLOY / "runlocalai.env.example"))):
        assert names, source
        assert names <= known, f"{source}: unknown variables {sorted(names - known)}"


def test_secrets_come_from_the_secret_and_the_env_file() -> None:
    """Every secret setting is in the Kubernetes Secret and the env example, none in the ConfigMap."""
    secrets = {next(iter(env_names()[n])) for n in Settings.secret_fields()}
    secret_doc = _docs(DEPLOY / "k8s" / "secret.example.yaml")[0]
    configmap = _docs(DEPLOY / "k8s" / "configmap.yaml")[0]
    assert secrets <= set(secret_doc["stringData"])
    assert not secrets & set(configmap["data"])
    assert secrets <= _env_file_names(DEPLOY / "runlocalai.env.example")


def test_config_example_is_a_valid_settings_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """deploy/config.example.yaml loads through the YAML source."""
    monkeypatch.setenv("RUNLOCALAI_CONFIG", str(DEPLOY / "config.example.yaml"))
    assert Settings(_env_file=None).log_json is True  # type: ignore[call-arg]


def test_systemd_unit_is_hardened() -> None:
    """The unit runs unprivileged with a read-only system, its own state directory and restarts."""
    unit = (DEPLOY / "systemd" / "runlocalai.service").read_text()
    for line in ("DynamicUser=yes", "ProtectSystem=strict", "StateDirectory=runlocalai", "Restart=on-failure",
                 "NoNewPrivileges=yes", "ExecStart=/opt/runlocalai/bin/runlocalai serve"):
        assert line in unit


def test_dockerfile_is_multi_stage_non_root_with_healthcheck() -> None:
    """Two stages, a USER that is not root, a HEALTHCHECK and `runlocalai serve` as entrypoint."""
    text = (DEPLOY / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.MULTILINE)) >= 2
    assert re.search(r"^USER (?!root)\w+", text, re.MULTILINE)
    assert "HEALTHCHECK" in text and 'ENTRYPOINT ["runlocalai", "serve"]' in text
    assert "requirements.lock" in text
