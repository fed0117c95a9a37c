"""deploy/: every YAML file parses, and the compose file, Kubernetes manifests and env example
name only environment variables the Settings class reads (a typo would be silently ignored)."""

from __future__ import annotations

import fnmatch
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import tomllib
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


# -- the image: deploy/Dockerfile, .dockerignore, the HEALTHCHECK probe, deploy/check_image.sh --------
# (Building and running the image needs a Docker daemon: deploy/check_image.sh, not run by pytest.)

ROOT = DEPLOY.parent


def _dockerfile() -> str:
    return (DEPLOY / "Dockerfile").read_text()


def _instructions() -> list[str]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    lines = [line for line in _dockerfile().splitlines() if not line.lstrip().startswith("#")]
    return [i.strip() for i in re.sub(r"\\\n", " ", "\n".join(lines)).splitlines() if i.strip()]


def test_dockerfile_base_image_is_an_argument_defaulting_to_python_slim() -> None:
    """`ARG BASE_IMAGE=python:3.11-slim` comes before the first FROM and every stage starts from it,
    so the default build is unchanged and a local stand-in base is one --build-arg away."""
    steps = _instructions()
    froms = [i for i, s in enumerate(steps) if s.startswith("FROM ")]
    assert "ARG BASE_IMAGE=python:3.11-slim" in steps[:froms[0]]
    assert all(re.match(r"FROM \$\{BASE_IMAGE\} AS \w+$", steps[i]) for i in froms), [steps[i] for i in froms]


def test_runtime_reads_the_catalog_from_a_cache_built_into_the_image() -> None:
    """The validated catalog cache is made in the build stage and copied, root-owned, out of the /data
    volume; the warm-up imports the installed package (`-I`), not the source tree."""
    text = _dockerfile()
    assert "RUNLOCALAI_CACHE_DIR=/opt/runlocalai-cache" in text
    assert "COPY --from=build /opt/runlocalai-cache /opt/runlocalai-cache" in text
    assert "/opt/venv/bin/python -I -c" in text


def _ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore keeps ``path`` (or a folder above it) out of the build context."""
    parts = path.split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if pattern.startswith("**/"):
            tail = pattern[3:]
            if any(fnmatch.fnmatchcase(c.rsplit("/", 1)[-1], tail) for c in candidates):
                return True
        elif any(_match_parts(c, pattern) for c in candidates):
            return True
    return False


def _match_parts(path: str, pattern: str) -> bool:
    """Component by component (a `*` never crosses a `/`), anchored at both ends."""
    p, q = path.split("/"), pattern.split("/")
    return len(p) == len(q) and all(fnmatch.fnmatchcase(a, b) for a, b in zip(p, q))


def _dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_dockerignore_keeps_history_state_and_secrets_out_but_not_what_the_build_copies() -> None:
    """Every COPY source exists and is in the build context; .git, databases and .env files are not."""
    patterns = _dockerignore()
    assert not [p for p in patterns if p.startswith("!")], "negations are not modelled here"
    sources: list[str] = []
    for step in _instructions():
        if step.startswith("COPY ") and "--from=" not in step:
            sources += step.split()[1:-1]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not _ignored(source, patterns), f"{source} is excluded by .dockerignore"
    for kept_out in (".git", "runlocalai.sqlite3", "runlocalai.sqlite3-wal", ".env", "deploy/runlocalai.env",
                     "bot/__pycache__/x.pyc", "runlocalai_bot.egg-info", "tests"):
        assert _ignored(kept_out, patterns), kept_out


def test_package_data_ships_every_catalog_file() -> None:
    """The wheel the image installs carries every file under catalog/data (pyproject package-data)."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    globs = setuptools["package-data"]["catalog"]
    files = [p.relative_to(ROOT / "catalog").as_posix() for p in (ROOT / "catalog" / "data").rglob("*")
             if p.is_file() and "__pycache__" not in p.parts]
    assert files
    missing = [f for f in files if not any(_match_parts(f, g) for g in globs)]
    assert not missing, f"not in the wheel: {missing}"


def _healthcheck_script() -> str:
    """The Python program of the HEALTHCHECK (exec form: ["python", "-c", "<program>"])."""
    step = next(s for s in _instructions() if s.startswith("HEALTHCHECK "))
    command = json.loads(step[step.index(" CMD ") + len(" CMD "):])
    assert command[:2] == ["python", "-c"], command
    return command[2]


class _Health(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def health_servers() -> Any:
    """Two local servers: one whose /healthz answers 200, one whose /healthz answers 503."""
    class Failing(_Health):
        status = 503

    servers = [http.server.HTTPServer(("127.0.0.1", 0), handler) for handler in (_Health, Failing)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield [str(s.server_address[1]) for s in servers]
    for server in servers:
        server.shutdown()
        server.server_close()


def _closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


@pytest.mark.parametrize("env, healthy", [
    ({"HEALTH_PORT": "up"}, True),
    ({"HEALTH_PORT": "failing"}, False),
    ({"HEALTH_PORT": "closed", "RUNLOCALAI_PORT": "up"}, False),      # HEALTH_PORT is the only port tried
    ({"RUNLOCALAI_OPS_PORT": "up", "RUNLOCALAI_PORT": "closed"}, True),  # gateway modes: the ops server
    ({"RUNLOCALAI_OPS_PORT": "closed", "RUNLOCALAI_PORT": "up"}, True),  # HTTP modes without HEALTH_PORT
    ({"RUNLOCALAI_OPS_PORT": "0", "RUNLOCALAI_PORT": "up"}, True),       # ops server turned off
    ({"RUNLOCALAI_OPS_PORT": "closed", "RUNLOCALAI_PORT": "failing"}, False),
], ids=lambda v: "-".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else str(v))
def test_healthcheck_probe(env: dict[str, str], healthy: bool, health_servers: list[str]) -> None:
    """The image's HEALTHCHECK program, run here against local servers: HEALTH_PORT when set, else the
    ops port then the HTTP port; 200 from /healthz is healthy; a proxy setting does not divert it."""
    up, failing = health_servers
    ports = {"up": up, "failing": failing, "closed": _closed_port()}
    run_env = {k: v for k, v in os.environ.items()
               if k not in ("HEALTH_PORT", "RUNLOCALAI_OPS_PORT", "RUNLOCALAI_PORT")}
    run_env.update({k: ports.get(v, v) for k, v in env.items()})
    run_env.update(http_proxy="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9", no_proxy="", NO_PROXY="")
    run_env.setdefault("RUNLOCALAI_OPS_PORT", ports["closed"])  # never the real 9100 of this machine
    done = subprocess.run([sys.executable, "-c", _healthcheck_script()], env=run_env, timeout=20, check=False,
                          capture_output=True, text=True)
    assert done.returncode == (0 if healthy else 1), done.stderr


def test_check_image_script_is_executable_bash() -> None:
    """deploy/check_image.sh (needs a Docker daemon, so not run here) is executable and parses."""
    script = DEPLOY / "check_image.sh"
    assert os.access(script, os.X_OK)
    assert script.read_text().startswith("#!/usr/bin/env bash\n")
    if shutil.which("bash"):
        subprocess.run(["bash", "-n", str(script)], check=True, timeout=20)
