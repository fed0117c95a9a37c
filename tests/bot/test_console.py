"""The console prints every part of a Card, menus included, as plain text."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from bot.card import Action, Card, Menu, MenuChoice
from bot.console import answer_text, print_card
from bot.dispatch import run_text


def _printed(card: Card) -> str:
    out = io.StringIO()
    print_card(card, Console(file=out, width=200, color_system=None))
    return out.getvalue()


def test_menus_are_printed_as_the_commands_they_run():
    card = Card(title="Llama on a 3090", summary="fits",
                actions=[Action("Largest context", command="willitrun", args=(("model", "llama-3.1-8b"),))],
                menus=[Menu("Try another quant", "willitrun", "quant",
                            (MenuChoice("Q5_K_M", "Q5_K_M", "fits · 6.1 GB"),), (("model", "llama-3.1-8b"),))])
    text = _printed(card)
    assert "Try another quant:" in text
    assert "Q5_K_M" in text and "fits · 6.1 GB" in text
    assert "/willitrun" in text and "model=llama-3.1-8b" in text


def test_markup_in_a_choice_is_printed_literally():
    card = Card(title="t", menus=[Menu("[bold]x[/bold]", "define", "term", (MenuChoice("[red]y", "y"),))])
    text = _printed(card)
    assert "[bold]x[/bold]" in text and "[red]y" in text


def test_a_long_choice_description_is_shortened_like_the_platforms_do():
    long = "A definition that goes on " + "and on " * 40
    card = Card(title="t", menus=[Menu("Related terms", "define", "term", (MenuChoice("KV cache", "kv-cache", long),))])
    text = _printed(card)
    assert "/define term=kv-cache" in text
    assert "and on " * 15 not in text.replace("\n", " ").replace("│", "")
    assert "…" in text


@pytest.mark.parametrize("text", ["kv cache private", "kv cache public", "ephemeral=yes kv cache"])
async def test_slack_visibility_words_are_dropped_in_the_terminal(text: str) -> None:
    """A command copied from Slack answers the same in the console: who sees it means nothing here."""
    assert await answer_text("define", text) == await run_text("define", "kv cache")


async def test_a_bad_visibility_value_is_explained() -> None:
    card = await answer_text("define", "kv cache ephemeral=maybe")
    assert card.verdict == "error" and "ephemeral takes yes or no" in card.summary
