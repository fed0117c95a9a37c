"""Every Slack listener, registered in one visible place."""

from __future__ import annotations

import re

from slack_bolt.async_app import AsyncApp

from bot.commands import build_registry

from . import actions, autohelp, commands, home, shortcuts, workspace_config
from .answers import Answers


def register_listeners(app: AsyncApp, answers: Answers) -> None:
    # One listener for every registry command: bolt tries listeners in order and builds each
    # one's arguments to match it, so one per command made the last ones cost ten matches.
    names = "|".join(re.escape(command.name) for command in build_registry())
    app.command(re.compile(f"^/(?:{names})$"))(commands.slash_command(answers))
    app.command(f"/{workspace_config.CONFIG_COMMAND}")(workspace_config.config_command(answers))
    app.action(actions.FOLLOW_UP_ACTION_ID)(actions.follow_up(answers))
    app.action(actions.LINK_ACTION_ID)(actions.ack_link)
    app.shortcut(shortcuts.TROUBLESHOOT_CALLBACK_ID)(shortcuts.troubleshoot_message(answers))
    app.event("message")(autohelp.on_message(answers))
    app.event("app_home_opened")(home.on_app_home_opened(answers))
