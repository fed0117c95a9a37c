"""Who may do what on Slack: registry commands with ``requires="manage_server"`` and settings
changes are for workspace admins and owners (users.info, scope users:read)."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)


async def is_admin(client: AsyncWebClient, user_id: str) -> bool:
    """A workspace admin or owner; False when Slack can't say (logged)."""
    try:
        response = await client.users_info(user=user_id)
    except SlackApiError as exc:
        log.warning("users.info for %s failed: %s", user_id, exc.response.get("error"))
        return False
    user = response.get("user") or {}
    return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
