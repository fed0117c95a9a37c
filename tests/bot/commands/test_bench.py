"""/bench and /bench-review end to end with a real (SQLite) store: submit, confirm, review,
status, listing, and /willitrun's community evidence."""

from __future__ import annotations

import pytest

from bot.commands import build_registry
from bot.dispatch import run, run_text
from bot.registry import Request
from bot.render import render_discord, render_slack
from bot.store import get_store, set_store
from bot.store.factory import open_store

OLLAMA = """total duration: 5.1s
prompt eval count:    16 token(s)
prompt eval rate:     119.65 tokens/s
eval count:           298 token(s)
eval rate:            59.87 tokens/s"""

LLAMA_BENCH = """ggml_cuda_init: found 1 CUDA devices:
  Device 0: NVIDIA GeForce RTX 4090, compute capability 8.9, VMM: yes
| model                          |       size |     params | backend    | ngl |            test |                  t/s |
| ------------------------------ | ---------: | ---------: | ---------- | --: | --------------: | -------------------: |
| llama 8B Q4_K - Medium         |   4.58 GiB |     8.03 B | CUDA       |  99 |           pp512 |      9000.50 ± 20.1 |
| llama 8B Q4_K - Medium         |   4.58 GiB |     8.03 B | CUDA       |  99 |           tg128 |        140.20 ± 0.30 |
build: 5b6d5040 (4592)"""


@pytest.fixture
async def store(tmp_path):
    s = await open_store(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    set_store(s)
    try:
        yield s
    finally:
        set_store(None)
        await s.close()


def req(command: str, user: str = "u1", server: str = "g1", platform: str = "discord", **options) -> Request:
    return Request(command=command, options=options, user_id=user, server_id=server, platform=platform)  # type: ignore[arg-type]


async def submit_and_confirm(user: str = "u1", gen: float = 140.2, server: str = "g1") -> int:
    card = await run(req("bench", user=user, server=server, action="submit", model="llama 3.1 8b", quant="Q4_K_M",
                         hardware="rtx 4090", runtime="llama.cpp", ctx=8192, gen_tok_s=gen))
    assert card.verdict == "info", card.summary
    sid = int(dict(card.actions[0].args)["id"])
    await run(req("bench", user=user, server=server, action="confirm", id=str(sid)))
    return sid


async def test_without_store_submissions_are_off():
    """No database: /bench submit says so; listing the catalog still works."""
    assert get_store() is None
    card = await run(req("bench", action="submit", paste=OLLAMA))
    assert card.verdict == "error" and "database" in card.title.lower()
    assert (await run_text("bench", "llama 3.1 8b on rtx 4080")).evidence == ["measured"]
    assert (await run(req("bench-review"))).verdict == "error"


async def test_paste_shows_what_was_read_and_stores_a_draft(store):
    """A pasted llama-bench table becomes a draft; the card shows the fields and a short Confirm action."""
    card = await run(req("bench", action="submit", paste=LLAMA_BENCH, model="llama 3.1 8b"))
    assert card.verdict == "info", (card.title, card.summary)
    values = {f.name: f.value for f in card.fields}
    assert "Q4_K_M (read)" in values["Quant"] and "RTX 4090" in values["Hardware"]
    assert "140.2" in values["Speed"] and "9,000" in values["Speed"]
    (action,) = card.actions
    assert action.label == "Confirm submission" and action.command == "bench"
    assert dict(action.args) == {"action": "confirm", "id": dict(action.args)["id"]}  # only the id travels
    sub = await store.get_submission(int(dict(action.args)["id"]))
    assert sub is not None and sub.status == "draft" and sub.source_format == "llama-bench"
    assert sub.runtime_version == "b4592" and sub.submitter == "discord:u1"
    render_discord(card)
    render_slack(card)


async def test_confirm_only_by_submitter(store):
    """Someone else pressing Confirm gets an error; the submitter's press queues it."""
    card = await run(req("bench", action="submit", paste=LLAMA_BENCH, model="llama 3.1 8b"))
    sid = dict(card.actions[0].args)["id"]
    other = await run(req("bench", user="u2", action="confirm", id=sid))
    assert other.verdict == "error"
    mine = await run(req("bench", action="confirm", id=sid))
    assert "review queue" in mine.title
    assert (await store.get_submission(int(sid))).status == "pending"


@pytest.mark.parametrize("options,title", [
    ({"paste": OLLAMA}, "Missing fields"),
    ({"paste": "not a benchmark"}, "couldn't read"),
    ({"paste": LLAMA_BENCH, "model": "llama 3.1 8b", "gen_tok_s": 900.0}, "Impossible generation speed"),
    ({"paste": LLAMA_BENCH, "model": "lama 3.1 8bb"}, "Unknown model"),
])
async def test_bad_submissions_store_nothing(store, options, title):
    """Bad submissions get an error card and leave no row behind."""
    card = await run(req("bench", action="submit", **options))
    assert card.verdict == "error" and title.lower() in card.title.lower(), card.title
    assert await store.list_submissions() == []


async def test_missing_fields_card_shows_what_was_read(store):
    """The error for a partial paste lists what the parser did read."""
    card = await run(req("bench", action="submit", paste=OLLAMA))
    read = next(f.value for f in card.fields if f.name.startswith("Read from"))
    assert "59.87" in read and "ollama" in read


async def test_review_flow(store):
    """Moderators see pending submissions with a judgement, approve, reject with a reason; submitters see it."""
    a = await submit_and_confirm(user="u1")
    b = await submit_and_confirm(user="u1", gen=120.0)
    queue = await run(req("bench-review", user="mod"))
    assert {f"#{a}", f"#{b}"} <= {f.name.split()[0] for f in queue.fields}
    assert any("estimate" in f.value and "limit" in f.value for f in queue.fields)
    assert (await run(req("bench-review", user="mod", action="reject", id=str(b)))).title == "A rejection needs a reason"
    assert (await run(req("bench-review", user="mod", action="approve", id=str(a)))).title.endswith("approved")
    rejected = await run(req("bench-review", user="mod", action="reject", id=str(b), reason="that is Q8_0"))
    assert rejected.title.endswith("rejected")
    status = await run(req("bench", action="mine"))
    text = " ".join(f.value for f in status.fields)
    assert "approved" in text and "rejected: that is Q8_0" in text
    again = await run(req("bench-review", user="mod", action="approve", id=str(b)))
    assert "Nothing to do" in again.summary


async def test_review_is_scoped_and_not_self(store):
    """A moderator can't review their own submission or another server's queue; the console can."""
    sid = await submit_and_confirm(user="u1", server="g1")
    own = await run(req("bench-review", user="u1", action="approve", id=str(sid)))
    assert own.verdict == "error" and "own" in own.title.lower()
    elsewhere = await run(req("bench-review", user="mod", server="g2", action="approve", id=str(sid)))
    assert elsewhere.verdict == "error"
    assert (await run(req("bench-review", user="mod", server="g2"))).summary == "Nothing is waiting for review."
    console = await run_text("bench-review", f"approve {sid} checked the log")
    assert console.title.endswith("approved")


async def test_community_records_in_bench_and_willitrun(store):
    """Approved records show as community evidence; three agreeing submitters raise confidence."""
    for user, gen in (("u1", 140.0), ("u2", 150.0), ("u3", 135.0)):
        sid = await submit_and_confirm(user=user, gen=gen)
        await run_text("bench-review", f"approve {sid}")
    listing = await run_text("bench", "llama 3.1 8b on rtx 4090")
    assert "community" in listing.evidence
    agreement = next(f.value for f in listing.fields if f.name == "Community agreement")
    assert "3 submitters agree" in agreement and "high confidence" in agreement
    estimate = await run_text("willitrun", "llama 3.1 8b on rtx 4090 q4_k_m")
    assert estimate.evidence[0] == "estimated" and "community" in estimate.evidence
    assert "high confidence" in next(f.value for f in estimate.fields if f.name == "Community")
    other_quant = await run_text("willitrun", "llama 3.1 8b on rtx 4090 q8_0")
    assert "community" not in other_quant.evidence


async def test_a_servers_own_approvals_count_only_there_unless_trusted(store, monkeypatch):
    """Each server moderates its own submissions, so a record its moderator approved is evidence
    in that server only; approvals by the operator or a trusted server count everywhere."""
    from bot import config

    sid = await submit_and_confirm(user="u1", server="g1")
    assert (await run(req("bench-review", user="mod", server="g1", action="approve", id=str(sid)))
            ).title.endswith("approved")
    ask = dict(model="llama 3.1 8b", hardware="rtx 4090", quant="Q4_K_M")

    async def evidence(server: str, platform: str = "discord") -> tuple[list[str], list[str]]:
        will = await run(req("willitrun", server=server, platform=platform, **ask))
        bench = await run(req("bench", server=server, platform=platform, model="llama 3.1 8b", hardware="rtx 4090"))
        return will.evidence, bench.evidence

    home, elsewhere, slack = await evidence("g1"), await evidence("g2"), await evidence("g1", platform="slack")
    assert "community" in home[0] and "community" in home[1]
    assert "community" not in elsewhere[0] and "community" not in elsewhere[1]
    assert "community" not in slack[0]                        # same id on another platform: not the same server
    assert "community" in (await run_text("willitrun", "llama 3.1 8b on rtx 4090 q4_k_m")).evidence  # operator

    monkeypatch.setenv("RUNLOCALAI_TRUSTED_SERVERS", "discord:g1, slack:T9")
    config.get_settings.cache_clear()
    try:
        assert config.get_settings().trusted_servers == ["discord:g1", "slack:T9"]
        trusted = await evidence("g2")
        assert "community" in trusted[0] and "community" in trusted[1]
    finally:
        monkeypatch.delenv("RUNLOCALAI_TRUSTED_SERVERS")
        config.get_settings.cache_clear()


async def test_operator_approvals_count_everywhere(store):
    sid = await submit_and_confirm(user="u1", server="g1")
    await run_text("bench-review", f"approve {sid}")
    will = await run(req("willitrun", server="g7", model="llama 3.1 8b", hardware="rtx 4090", quant="Q4_K_M"))
    assert "community" in will.evidence


async def test_pending_records_are_not_evidence(store):
    """Unreviewed submissions never count as evidence."""
    await submit_and_confirm()
    assert "community" not in (await run_text("bench", "llama 3.1 8b on rtx 4090")).evidence
    assert "community" not in (await run_text("willitrun", "llama 3.1 8b on rtx 4090 q4_k_m")).evidence


async def test_free_text_submit_console(store):
    """The console/Slack text form submits the same way."""
    card = await run_text("bench", "submit llama 3.1 8b on rtx 4090 q4_k_m llama.cpp ctx 8192 gen 140 pp 9000")
    assert card.title.startswith("Check your submission"), (card.title, card.summary)


def test_review_requires_manage_server():
    """Only /bench-review is gated; the adapters read Command.requires."""
    registry = build_registry()
    assert registry.get("bench-review").requires == "manage_server"
    assert {c.name for c in registry if c.requires} == {"bench-review"}
