"""Slack adapter (slack-bolt AsyncApp): the registry's commands as slash commands, Cards as
Block Kit, follow-up buttons, a "Troubleshoot this" shortcut, opt-in auto-help and App Home.

Translation only: every answer comes from the core (bot/), every limit and escape from
bot/render/slack.py.
"""

from .app import build_app, build_http_app, run_socket_mode
from .listeners import register_listeners

__all__ = ["build_app", "build_http_app", "register_listeners", "run_socket_mode"]
