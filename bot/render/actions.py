"""Follow-ups travel as compact ids, inside platform limits.

- a button: ``rl|command|k=v;k=v`` (the command and all its arguments);
- a select menu: ``rm|command|option|k=v;k=v`` (the command, the option the chosen value
  fills, and the fixed arguments); the platform delivers the chosen value next to the id.

The prefixes differ so a handler of one kind never claims the other's id.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from bot.card import Action, Menu, MenuChoice

PREFIX = "rl"
MENU_PREFIX = "rm"


def _encode_args(args: tuple[tuple[str, str], ...]) -> str:
    return ";".join(f"{quote(k, safe='')}={quote(v, safe=' ._-')}" for k, v in args)


def _decode_args(text: str) -> dict[str, str] | None:
    args: dict[str, str] = {}
    for pair in filter(None, text.split(";")):
        key, sep, value = pair.partition("=")
        if not sep:
            return None
        args[unquote(key)] = unquote(value)
    return args


def encode_action(action: Action) -> str:
    return f"{PREFIX}|{action.command}|{_encode_args(action.args)}"


def decode_action(custom_id: str) -> tuple[str, dict[str, str]] | None:
    """The command and arguments of a follow-up id, or None when it is not ours or malformed."""
    parts = custom_id.split("|", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1]:
        return None
    args = _decode_args(parts[2])
    return None if args is None else (parts[1], args)


def encode_menu(menu: Menu) -> str:
    """The id of a select menu; the option it fills is left out of the fixed arguments."""
    fixed = tuple((k, v) for k, v in menu.args if k != menu.option)
    return f"{MENU_PREFIX}|{menu.command}|{quote(menu.option, safe='')}|{_encode_args(fixed)}"


def decode_menu(custom_id: str) -> tuple[str, str, dict[str, str]] | None:
    """(command, option the choice fills, fixed arguments) of a menu id, or None when it is not
    ours or malformed."""
    parts = custom_id.split("|", 3)
    if len(parts) != 4 or parts[0] != MENU_PREFIX or not parts[1] or not parts[2]:
        return None
    args = _decode_args(parts[3])
    option = unquote(parts[2])
    if args is None or not option:
        return None
    return parts[1], option, args


def decode_choice(custom_id: str, value: str) -> tuple[str, dict[str, str]] | None:
    """The command and arguments a choice in a menu runs, or None when the id is not a menu of
    ours or no value was chosen."""
    decoded = decode_menu(custom_id)
    if decoded is None or not value:
        return None
    command, option, args = decoded
    return command, {**args, option: value}


def usable_choices(menu: Menu, max_options: int, max_value: int) -> list[MenuChoice]:
    """The choices a platform can show, at most ``max_options``: a value is never cut (it is what
    the command runs with), so a choice whose value is too long, empty or repeated is left out."""
    out: list[MenuChoice] = []
    seen: set[str] = set()
    for choice in menu.choices:
        if len(out) == max_options:
            break
        if not choice.value or len(choice.value) > max_value or choice.value in seen:
            continue
        seen.add(choice.value)
        out.append(choice)
    return out
