"""Select menus: their ids, and each renderer keeping its platform's select limits."""

from __future__ import annotations

import json

import pytest

from bot.card import Action, Card, Menu, MenuChoice
from bot.render import render_discord, render_slack, render_text
from bot.render.actions import decode_action, decode_choice, decode_menu, encode_action, encode_menu
from bot.render.limits import DISCORD, SLACK
from bot.render.slack import FOLLOW_UP
from tests.hardening.limits_check import check_discord, check_slack

QUANTS = Menu("Try another quant", "willitrun", "quant",
              (MenuChoice("Q5_K_M", "Q5_K_M", "🟢 Runs comfortably · 6.1 GiB"), MenuChoice("Q8_0", "Q8_0")),
              (("model", "llama-3.1-8b"), ("hardware", "2x rtx-3090"), ("quant", "Q4_K_M")))
HOSTILE = ["@everyone", "<@123456789>", "<@&987654321>", "<!channel>", "<@U123ABC>",
           "[click](https://evil.example)", "a" * 10_000, "&<>" * 500, "```", "|;=%"]


def selects_discord(body: dict) -> list[dict]:
    return [c for row in body.get("components", []) for c in row["components"] if c["type"] == 3]


def selects_slack(message: dict) -> list[dict]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
            if e["type"] == "static_select"]


def test_menu_ids_round_trip():
    """A menu id decodes to its command, the option the choice fills and the fixed arguments
    (without that option); a choice adds the chosen value."""
    custom_id = encode_menu(QUANTS)
    assert custom_id == "rm|willitrun|quant|model=llama-3.1-8b;hardware=2x rtx-3090"
    assert decode_menu(custom_id) == ("willitrun", "quant", {"model": "llama-3.1-8b", "hardware": "2x rtx-3090"})
    assert decode_choice(custom_id, "Q8_0") == (
        "willitrun", {"model": "llama-3.1-8b", "hardware": "2x rtx-3090", "quant": "Q8_0"})


def test_menu_ids_escape_their_separators():
    """Separators inside arguments and the option name survive the round trip."""
    menu = Menu("p", "define", "te|rm", (MenuChoice("x", "x"),), (("a;b", "c=d|e%"),))
    assert decode_choice(encode_menu(menu), "v|;=") == ("define", {"a;b": "c=d|e%", "te|rm": "v|;="})


@pytest.mark.parametrize("custom_id", [
    "", "rm", "rm|", "rm||quant|", "rm|willitrun||", "rm|willitrun|quant", "rm|willitrun|quant|model",
    "rl|willitrun|quant=Q8_0", "xx|willitrun|quant|", "rm|willitrun|%|model=x;broken",
])
def test_malformed_menu_ids_decode_to_none(custom_id: str):
    """Anything that is not a well-formed menu id of ours decodes to None."""
    assert decode_menu(custom_id) is None
    assert decode_choice(custom_id, "Q8_0") is None


def test_no_value_chosen_decodes_to_none():
    """A well-formed menu id with an empty chosen value is not a choice."""
    assert decode_choice(encode_menu(QUANTS), "") is None


def test_button_and_menu_ids_never_claim_each_other():
    """The two id kinds have different prefixes: a button decoder refuses a menu id and back."""
    button = encode_action(Action("x", command="willitrun", args=(("quant", "Q8_0"),)))
    assert decode_action(encode_menu(QUANTS)) is None
    assert decode_menu(button) is None


def test_a_choice_replaces_the_fixed_value_of_its_option():
    """The follow-up a choice runs: fixed arguments, the option set to the chosen value once."""
    action = QUANTS.action_for(QUANTS.choices[1])
    assert action.command == "willitrun"
    assert action.args == (("model", "llama-3.1-8b"), ("hardware", "2x rtx-3090"), ("quant", "Q8_0"))


def test_discord_select_in_its_own_row():
    """A menu renders as a string select (type 3) alone in an action row after the buttons."""
    card = Card(title="T", actions=[Action("More", command="define", args=(("term", "x"),))], menus=[QUANTS])
    body = render_discord(card)
    check_discord(body)
    rows = body["components"]
    assert [c["type"] for c in rows[0]["components"]] == [2]
    assert rows[1]["components"] == [{
        "type": 3, "custom_id": encode_menu(QUANTS), "placeholder": "Try another quant",
        "min_values": 1, "max_values": 1,
        "options": [{"label": "Q5_K_M", "value": "Q5_K_M", "description": "🟢 Runs comfortably · 6.1 GiB"},
                    {"label": "Q8_0", "value": "Q8_0"}]}]


def test_slack_static_select_in_its_own_block():
    """A menu renders as a static_select alone in an actions block, the menu id in its action_id."""
    card = Card(title="T", actions=[Action("More", command="define", args=(("term", "x"),))], menus=[QUANTS])
    message = render_slack(card)
    check_slack(message)
    [select] = selects_slack(message)
    assert select["action_id"] == FOLLOW_UP + encode_menu(QUANTS)
    assert select["placeholder"]["text"] == "Try another quant"
    assert [o["value"] for o in select["options"]] == ["Q5_K_M", "Q8_0"]
    assert select["options"][0]["description"]["text"] == "🟢 Runs comfortably · 6.1 GiB"
    assert "description" not in select["options"][1]


def test_text_lists_the_commands_choices_run():
    """The terminal shows the placeholder, then each choice as the command it would run."""
    out = render_text(Card(title="T", menus=[QUANTS]))
    assert "Try another quant:" in out
    assert "Q8_0: /willitrun model=llama-3.1-8b hardware=2x rtx-3090 quant=Q8_0" in out
    assert "(🟢 Runs comfortably · 6.1 GiB)" in out


def test_too_many_and_unusable_choices():
    """At most 25 options on Discord and 100 on Slack; a value that is empty, repeated or too long
    for the platform is left out, never cut."""
    choices = ((MenuChoice("empty", ""), MenuChoice("dup", "v0"), MenuChoice("long", "x" * 120))
               + tuple(MenuChoice(f"c{i}", f"v{i}") for i in range(130)))
    card = Card(title="T", menus=[Menu("Pick", "define", "term", (MenuChoice("first", "v0"),) + choices)])
    [discord_select] = selects_discord(render_discord(card))
    values = [o["value"] for o in discord_select["options"]]
    assert len(values) == DISCORD["select_options"] and values[:2] == ["v0", "v1"]
    [slack_select] = selects_slack(render_slack(card))
    values = [o["value"] for o in slack_select["options"]]
    assert len(values) == SLACK["select_options"] and "x" * 120 in values and "" not in values
    assert len(set(values)) == len(values)


def test_menu_without_usable_choices_or_with_a_long_id_is_left_out():
    """No options left, or an id over the platform's limit: no select at all (never a broken one)."""
    empty = Menu("Pick", "define", "term", (MenuChoice("x", ""),))
    long_id = Menu("Pick", "define", "term", (MenuChoice("x", "x"),), (("model", "m" * 100),))
    card = Card(title="T", menus=[empty, long_id])
    assert not selects_discord(render_discord(card))
    assert [s["action_id"] for s in selects_slack(render_slack(card))] == [FOLLOW_UP + encode_menu(long_id)]
    huge = Menu("Pick", "define", "term", (MenuChoice("x", "x"),), (("model", "m" * 300),))
    assert not selects_slack(render_slack(Card(title="T", menus=[huge])))


def test_five_rows_at_most_with_one_kept_for_buttons():
    """Thirty buttons and six menus: five rows in all, one row of buttons, four select rows."""
    card = Card(title="T", actions=[Action(f"b{i}", command="define", args=(("term", str(i)),)) for i in range(30)],
                menus=[Menu(f"m{i}", "define", "term", (MenuChoice("x", "x"),), (("n", str(i)),)) for i in range(6)])
    body = render_discord(card)
    check_discord(body)
    kinds = [[c["type"] for c in row["components"]] for row in body["components"]]
    assert kinds == [[2] * 5, [3], [3], [3], [3]]
    only_buttons = render_discord(Card(title="T", actions=card.actions))
    assert len(only_buttons["components"]) == DISCORD["rows"]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_menu_text_is_clamped_and_pings_no_one(text: str):
    """Placeholder, labels and descriptions made of hostile text stay within every limit, ping no
    one and form no masked link, on both platforms."""
    menu = Menu(text, "define", "term", tuple(MenuChoice(text, f"v{i}", text) for i in range(30)),
                (("note", text[:10]),))
    card = Card(title="T", menus=[menu])
    body = render_discord(card)
    check_discord(body)
    [select] = selects_discord(body)
    assert all(o["label"] and len(o["label"]) <= DISCORD["select_label"] for o in select["options"])
    assert len(select["placeholder"]) <= DISCORD["select_placeholder"]
    message = render_slack(card)
    check_slack(message)
    dumped = json.dumps(message["blocks"], ensure_ascii=False)
    assert "<!channel>" not in dumped and "<@U123ABC>" not in dumped
    [select] = selects_slack(message)
    assert len(select["placeholder"]["text"]) <= SLACK["placeholder"]
    assert all(len(o["text"]["text"]) <= SLACK["option_text"] for o in select["options"])
    assert all(len(o["description"]["text"]) <= SLACK["option_description"] for o in select["options"])
