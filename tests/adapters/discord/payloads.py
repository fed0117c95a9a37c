"""Raw Discord payloads, shaped like the gateway's INTERACTION_CREATE / MESSAGE_CREATE events
and the bodies Discord POSTs to an interactions endpoint."""

from __future__ import annotations

from typing import Any

from bot.registry import Command, Option

from .fake_discord import APP_ID, BOT_USER, TIMESTAMP, snowflake

GUILD_ID = "800000000000000001"
CHANNEL_ID = "800000000000000002"      # a plain text channel
FORUM_ID = "800000000000000003"        # a forum channel
OTHER_CHANNEL_ID = "800000000000000004"
USER_ID = "810000000000000001"
OTHER_USER_ID = "810000000000000002"
MANAGE_GUILD = 1 << 5
OPTION_TYPES = {"str": 3, "int": 4, "bool": 5, "float": 10}


def user(user_id: str = USER_ID, *, bot: bool = False) -> dict[str, Any]:
    return {"id": user_id, "username": f"user{user_id[-3:]}", "discriminator": "0", "global_name": None,
            "avatar": None, "bot": bot}


def member(user_id: str = USER_ID, permissions: int = 0) -> dict[str, Any]:
    return {"user": user(user_id), "roles": [], "joined_at": TIMESTAMP, "deaf": False, "mute": False,
            "flags": 0, "permissions": str(permissions)}


def channel(channel_id: str = CHANNEL_ID, kind: int = 0, **extra: Any) -> dict[str, Any]:
    return {"id": channel_id, "type": kind, "guild_id": GUILD_ID, "name": f"chan{channel_id[-2:]}",
            "position": 0, "permission_overwrites": [], "nsfw": False, "parent_id": None, **extra}


def interaction(kind: int, data: dict[str, Any], *, user_id: str = USER_ID, permissions: int = 0,
                message: dict[str, Any] | None = None, guild: bool = True) -> dict[str, Any]:
    """An interaction as Discord sends it (gateway event data == HTTP endpoint body)."""
    payload: dict[str, Any] = {
        "id": snowflake(), "application_id": APP_ID, "type": kind, "data": data,
        "token": f"tok-{snowflake()}", "version": 1, "locale": "en-US", "app_permissions": "0",
        "entitlements": [],
        "attachment_size_limit": 10_485_760, "channel_id": CHANNEL_ID, "channel": channel(),
    }
    if guild:
        payload.update(guild_id=GUILD_ID, guild_locale="en-US", member=member(user_id, permissions),
                       authorizing_integration_owners={"0": GUILD_ID}, context=0)
    else:
        dm = {"id": CHANNEL_ID, "type": 1, "recipients": [user(user_id)]}
        payload.update(user=user(user_id), channel=dm, context=1)
    if message is not None:
        payload["message"] = message
    return payload


def slash(name: str, options: dict[str, Any] | None = None, *, focused: str | None = None,
          types: dict[str, int] | None = None, **kw: Any) -> dict[str, Any]:
    """A chat-input command (type 2), or its autocomplete (type 4) when ``focused`` names an option."""
    opts = []
    for key, value in (options or {}).items():
        kind = (types or {}).get(key) or {bool: 5, int: 4, float: 10}.get(type(value), 3)
        opt: dict[str, Any] = {"name": key, "type": kind, "value": value}
        if key == focused:
            opt["focused"] = True
        opts.append(opt)
    data = {"id": snowflake(), "name": name, "type": 1, "options": opts}
    return interaction(4 if focused else 2, data, **kw)


def sample_value(option: Option) -> Any:
    """A valid value for any registry option, built from the option's own declaration."""
    from adapters.discord.autocomplete import suggestions

    if option.choices:
        return option.choices[0]
    if option.type in ("int", "float"):
        value = option.min_value if option.min_value is not None else 8
        value = max(value, 8192) if option.name == "ctx" else value
        if option.max_value is not None:
            value = min(value, option.max_value)
        return int(value) if option.type == "int" else float(value)
    if option.type == "bool":
        return True
    if option.autocomplete:
        return suggestions(option.autocomplete, "")[0][1]
    return "CUDA out of memory. Tried to allocate 2.00 GiB"


def registry_slash(command: Command, **kw: Any) -> dict[str, Any]:
    """A type-2 payload for ``command`` with a value for every option (required and optional)."""
    values = {o.name: sample_value(o) for o in command.options}
    return slash(command.name, values, types={o.name: OPTION_TYPES[o.type] for o in command.options}, **kw)


def message(content: str, *, channel_id: str = CHANNEL_ID, author: dict[str, Any] | None = None,
            attachments: list[dict[str, Any]] | None = None, components: list[dict[str, Any]] | None = None,
            interaction_user: str | None = None, flags: int = 0, message_id: str | None = None,
            guild: bool = True) -> dict[str, Any]:
    """A message object (MESSAGE_CREATE data, or the message a component sits on)."""
    payload: dict[str, Any] = {
        "id": message_id or snowflake(), "channel_id": channel_id, "author": author or user(),
        "content": content, "embeds": [], "components": components or [], "attachments": attachments or [],
        "timestamp": TIMESTAMP, "edited_timestamp": None, "tts": False, "mention_everyone": False,
        "mentions": [], "mention_roles": [], "pinned": False, "type": 0, "flags": flags,
    }
    if guild:
        payload["guild_id"] = GUILD_ID
        if author is None or not author.get("bot"):
            payload["member"] = {k: v for k, v in member(payload["author"]["id"]).items() if k != "user"}
    if interaction_user is not None:
        payload["interaction_metadata"] = {"id": snowflake(), "type": 2, "user": user(interaction_user),
                                           "authorizing_integration_owners": {"0": GUILD_ID}}
    return payload


def bot_message(body: dict[str, Any], *, asked_by: str | None = USER_ID, flags: int = 0) -> dict[str, Any]:
    """The bot's answer as Discord shows it later (with its components), asked by ``asked_by``."""
    return message("", author=BOT_USER, components=body.get("components"), interaction_user=asked_by,
                   flags=flags)


def button(custom_id: str, **kw: Any) -> dict[str, Any]:
    """A press on the button ``custom_id`` of a message."""
    return interaction(3, {"custom_id": custom_id, "component_type": 2}, **kw)


def context_menu(name: str, target: dict[str, Any], **kw: Any) -> dict[str, Any]:
    """A message context-menu command (type 2, command type 3) on ``target``."""
    data = {"id": snowflake(), "name": name, "type": 3, "target_id": target["id"],
            "resolved": {"messages": {target["id"]: target}}}
    return interaction(2, data, **kw)


def attachment(filename: str, url: str, size: int, content_type: str = "text/plain") -> dict[str, Any]:
    return {"id": snowflake(), "filename": filename, "size": size, "url": url, "proxy_url": url,
            "content_type": content_type}


def config(sub: str, options: dict[str, Any], *, permissions: int = MANAGE_GUILD,
           resolved: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    opts = [{"name": k, "type": 7 if k == "channel" else (5 if isinstance(v, bool) else 3), "value": v}
            for k, v in options.items()]
    data: dict[str, Any] = {"id": snowflake(), "name": "config", "type": 1,
                            "options": [{"name": sub, "type": 1, "options": opts}]}
    if resolved:
        data["resolved"] = resolved
    return interaction(2, data, permissions=permissions, **kw)


def guild_create(*channels: dict[str, Any], threads: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """GUILD_CREATE: the guild with its channels (and active threads) as the gateway delivers it."""
    return {"id": GUILD_ID, "name": "Local AI", "icon": None, "owner_id": OTHER_USER_ID, "roles": [],
            "emojis": [], "stickers": [], "features": [], "channels": list(channels),
            "threads": threads or [],
            "members": [], "voice_states": [], "presences": [], "member_count": 2, "large": False,
            "unavailable": False, "verification_level": 0, "default_message_notifications": 0,
            "explicit_content_filter": 0, "mfa_level": 0, "nsfw_level": 0, "premium_tier": 0,
            "preferred_locale": "en-US", "system_channel_flags": 0, "afk_timeout": 300}


def thread(thread_id: str, parent_id: str, name: str, owner_id: str = USER_ID) -> dict[str, Any]:
    """A public thread (a forum post when the parent is a forum)."""
    return {"id": thread_id, "type": 11, "guild_id": GUILD_ID, "parent_id": parent_id, "name": name,
            "owner_id": owner_id, "message_count": 0, "member_count": 1, "rate_limit_per_user": 0,
            "thread_metadata": {"archived": False, "auto_archive_duration": 1440,
                                "archive_timestamp": TIMESTAMP, "locked": False}, "flags": 0,
            "last_message_id": None}
