"""Platform adapters: Discord (discord.py) and Slack (slack-bolt); translation only."""
