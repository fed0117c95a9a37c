"""Start-up and restart: a missing or corrupt catalog stops `runlocalai` and `runlocalai serve` with
a clear message and a non-zero exit; a restarted bot finds its servers' settings as they were."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.store.base import ServerSettings
from bot.store.factory import open_store
from catalog.loader import DATA_DIR

# Run the real CLI with the catalog read from another folder.
LAUNCH = ("import sys, pathlib, catalog.loader as l; d = (pathlib.Path(sys.argv[1]),); "
          "l.load_catalog.__defaults__ = d; l.load_catalog_cached.__defaults__ = d; "
          "from bot.cli import main; sys.exit(main(sys.argv[2:]))")


def break_catalog(tmp_path: Path, how: str) -> Path:
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    target = data / "runtimes.yaml"
    if how == "missing":
        target.unlink()
    elif how == "not yaml":
        target.write_text("- id: [unclosed\n")
    elif how == "binary":
        target.write_bytes(b"\xff\xfe\x00garbage")
    elif how == "wrong shape":
        target.write_text("just: a mapping\n")
    return data


@pytest.mark.parametrize("how", ["missing", "not yaml", "binary", "wrong shape"])
@pytest.mark.parametrize("argv", [["about"], ["serve", "--discord-http"]])
def test_broken_catalog_stops_start_up(tmp_path: Path, how: str, argv: list[str]):
    """Exit 1 with "catalog failed to load" and the file named, before anything starts."""
    data = break_catalog(tmp_path, how)
    env = {"PATH": "/usr/bin:/bin", "DISCORD_PUBLIC_KEY": "00" * 32, "DISCORD_APPLICATION_ID": "1",
           "HOME": str(tmp_path), "RUNLOCALAI_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-c", LAUNCH, str(data), *argv], capture_output=True, text=True, check=False,
                          timeout=60, cwd=tmp_path, env=env)
    assert done.returncode == 1, done.stderr
    assert "catalog failed to load, not starting" in done.stderr
    assert "runtimes.yaml" in done.stderr
    assert "Traceback" not in done.stderr


async def test_restart_resumes_with_the_same_settings(tmp_path: Path):
    """Settings saved before a close are the settings after reopening the same database."""
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    saved = ServerSettings(platform="discord", server_id="g1", default_runtime="ollama", ephemeral=True,
                           autohelp_channels=frozenset({"c1", "c2"}))
    store = await open_store(url)
    await store.save_settings(saved)
    await store.close()
    store = await open_store(url)
    try:
        assert await store.get_settings("discord", "g1") == saved
    finally:
        await store.close()
