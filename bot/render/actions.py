"""Follow-up actions travel as compact ids: ``rl|command|k=v;k=v``, inside platform limits."""

from __future__ import annotations

from urllib.parse import quote, unquote

from bot.card import Action

PREFIX = "rl"


def encode_action(action: Action) -> str:
    args = ";".join(f"{quote(k, safe='')}={quote(v, safe=' ._-')}" for k, v in action.args)
    return f"{PREFIX}|{action.command}|{args}"


def decode_action(custom_id: str) -> tuple[str, dict[str, str]] | None:
    """The command and arguments of a follow-up id, or None when it is not ours or malformed."""
    parts = custom_id.split("|", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1]:
        return None
    args: dict[str, str] = {}
    for pair in filter(None, parts[2].split(";")):
        key, sep, value = pair.partition("=")
        if not sep:
            return None
        args[unquote(key)] = unquote(value)
    return parts[1], args
