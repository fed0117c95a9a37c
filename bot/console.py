"""The local console: the same slash commands as on Discord and Slack, in a terminal."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import re

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel

from .card import VERDICT_EMOJI, Card, error_card
from .commands import build_registry
from .dispatch import run_text
from .parse import split_visibility
from .render.text import menu_lines

_STYLE = {"comfortable": "green", "tradeoffs": "yellow", "no": "red", "info": "blue", "error": "magenta"}
HISTORY = Path(os.environ.get("RUNLOCALAI_HISTORY", Path.home() / ".runlocalai_history"))


_BOLD_RE = re.compile(r"\*\*(.+?)\*\*")


def _markup(text: str) -> str:
    """Escape rich markup in card text (it may echo user input), then render **bold**."""
    return _BOLD_RE.sub(r"[bold]\1[/bold]", escape(text))


async def answer_text(name: str, text: str) -> Card:
    """A command typed in the terminal. Slack's visibility words (``private``, ``ephemeral=yes``)
    are dropped: only the operator reads the answer here."""
    text, _, problem = split_visibility(text)
    if problem is not None:
        return error_card("I couldn't read that", problem + ".")
    return await run_text(name, text)


def print_card(card: Card, console: Console | None = None) -> None:
    console = console or Console()
    body = []
    if card.summary:
        body.append(_markup(card.summary))
    if card.bar:
        body.append(escape(card.bar))
    for f in card.fields:
        body.append(f"[bold]{escape(f.name)}[/bold]\n{_markup(f.value)}")
    if card.evidence:
        body.append("[dim]Evidence: " + ", ".join(card.evidence) + "[/dim]")
    for s in card.sources:
        body.append(f"[dim]Source: {escape(s.label)} {escape(s.url)}[/dim]")
    follow = [a for a in card.actions if not a.is_link]
    if follow:
        body.append("[dim]Try: " + escape(" | ".join(
            f"/{a.command} " + " ".join(f"{k}={v}" for k, v in a.args) for a in follow)) + "[/dim]")
    for menu in card.menus:
        body.append("[dim]" + escape("\n".join(menu_lines(menu))) + "[/dim]")
    if card.footer:
        body.append(f"[dim]{escape(card.footer)}[/dim]")
    title = escape(f"{VERDICT_EMOJI.get(card.verdict, '')} {card.title}")
    console.print(Panel("\n\n".join(body), title=title, title_align="left",
                        border_style=_STYLE.get(card.verdict, "blue"), highlight=False), markup=True)


def _completer():
    from catalog.resolve import get_resolver

    names = [f"/{n}" for n in build_registry().names()]
    r = get_resolver()
    words = sorted({*names, *r.catalog.models, *r.catalog.hardware, *r.catalog.quants, *r.catalog.runtimes})

    def complete(text: str, state: int) -> str | None:
        matches = [w for w in words if w.startswith(text)]
        return matches[state] if state < len(matches) else None

    return complete


def run_console() -> int:
    console = Console()
    try:
        import readline

        readline.set_completer(_completer())
        readline.parse_and_bind("tab: complete")
        readline.set_completer_delims(" ")
        if HISTORY.exists():
            readline.read_history_file(HISTORY)
    except (ImportError, OSError):
        readline = None  # type: ignore[assignment]
    loop = asyncio.new_event_loop()  # one loop for the session: the store's connections live on it
    _open_store(loop, console)
    console.print("[bold]runlocalai console[/bold] — type /help, /willitrun llama 3.1 8b on rtx 3090, or /quit")
    interactive = sys.stdin.isatty()
    while True:
        try:
            line = input("> " if interactive else "").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if not line:
            continue
        if line in ("/quit", "/exit", "quit", "exit"):
            break
        name, _, rest = line.lstrip("/").partition(" ")
        card = loop.run_until_complete(answer_text(name, rest))
        print_card(card, console)
    if readline is not None:
        try:
            readline.write_history_file(HISTORY)
        except OSError:
            pass
    _close_store(loop)
    return 0


def _open_store(loop: asyncio.AbstractEventLoop, console: Console) -> None:
    """The configured database (a SQLite file by default), so /bench submit works here too."""
    from .config import get_settings
    from .store import set_store
    from .store.factory import open_store

    try:
        set_store(loop.run_until_complete(open_store(get_settings().database_url)))
    except Exception as exc:  # noqa: BLE001 - the console works without a database
        console.print(f"[dim]No database ({escape(str(exc))}): benchmark submissions are off.[/dim]")


def _close_store(loop: asyncio.AbstractEventLoop) -> None:
    from .store import get_store, set_store

    store = get_store()
    if store is not None:
        loop.run_until_complete(store.close())
        set_store(None)
    loop.close()
