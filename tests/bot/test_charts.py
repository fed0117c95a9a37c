"""Charts are real PNGs, attached where asked for, and referenced by the Discord embed."""

from bot.dispatch import run_text
from bot.render import render_discord

PNG = b"\x89PNG\r\n\x1a\n"


async def test_willitrun_chart_png():
    """chart=yes attaches a PNG (memory per device + speed vs context); the embed points at it."""
    card = await run_text("willitrun", "llama 3.3 70b on 2x 3090 16k ctx chart=yes")
    assert card.chart_png and card.chart_png.startswith(PNG)
    assert render_discord(card)["embeds"][0]["image"]["url"] == "attachment://chart.png"


async def test_no_chart_by_default_in_console():
    """The console gets the text bar, not an image."""
    card = await run_text("willitrun", "llama 3.1 8b on 3090")
    assert card.chart_png is None and card.bar


async def test_compare_chart_png():
    """/compare draws grouped speed bars for both set-ups."""
    card = await run_text("compare", "4090 vs m4 max 128gb chart=yes")
    assert card.chart_png and card.chart_png.startswith(PNG)
