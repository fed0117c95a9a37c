"""Card renderers: text (terminal), Discord (embed + components JSON), Slack (Block Kit JSON)."""

from .discord import render_discord
from .slack import render_slack
from .text import render_text

__all__ = ["render_discord", "render_slack", "render_text"]
