"""/bench: benchmark records for a model and hardware, and community submissions.

``/bench MODEL HARDWARE`` lists the curated catalog records (evidence ``measured``) and the
approved community submissions (``community``), or the nearest ones when none match.
``/bench submit`` takes typed fields or pasted tool output, checks them (bot/community.py),
stores a draft and shows what it read with a "Confirm submission" button; confirming puts it in
the moderation queue (/bench-review). ``/bench mine`` shows the submitter their statuses.
"""

from __future__ import annotations

import datetime as dt
import logging

from catalog.loader import get_catalog

from bot.bench_parse import ParsedBench, parse_bench_output
from bot.card import Action, Card, error_card
from bot.community import (
    LABELS,
    SPEED_MARGIN,
    CheckedSubmission,
    SubmissionProblem,
    agreement,
    check_submission,
    hardware_by_id,
    merge_fields,
)
from bot.registry import Command, Option, Request
from bot.store import InvalidTransition, NotFound, get_store
from bot.store.base import BenchSubmission, Store
from bot.store.queries import Viewer, approved_near, community_records

from ._common import UserError, need, need_setup, resolver

log = logging.getLogger(__name__)

DRAFT_TTL = dt.timedelta(days=1)
STATUS_TEXT = {"draft": "draft (not confirmed)", "pending": "waiting for review", "approved": "approved",
               "rejected": "rejected"}
FORMAT_TEXT = {"llama-bench": "llama-bench table", "ollama": "`ollama run --verbose` output",
               "llama.cpp": "llama.cpp timings", "vllm": "vLLM serving benchmark", "manual": "typed fields"}


def submitter_of(request: Request) -> str:
    return f"{request.platform}:{request.user_id}"


def hardware_label(hardware_id: str, count: int) -> str:
    spec = hardware_by_id(hardware_id)
    name = spec.name if spec else hardware_id
    return f"{count}x {name}" if count > 1 else name


def describe(sub: BenchSubmission) -> str:
    """Two lines on a submission: set-up, then speeds."""
    version = f" {sub.runtime_version}" if sub.runtime_version else ""
    speeds = f"gen **{sub.gen_tok_s:,.1f} tok/s**"
    if sub.prompt_tok_s:
        speeds += f" · prompt {sub.prompt_tok_s:,.0f} tok/s"
    return (f"{hardware_label(sub.hardware, sub.count)} · {sub.runtime}{version} ({sub.backend}) · "
            f"ctx {sub.context:,}\n{speeds}")


# ---------------------------------------------------------------------------------------------
# /bench MODEL HARDWARE
# ---------------------------------------------------------------------------------------------


async def bench_card(model_text: str, hardware_text: str, store: Store | None = None,
                     viewer: Viewer | None = None) -> Card:
    """Curated measurements and the approved community records ``viewer`` may see (all when
    None: the operator)."""
    cat = get_catalog()
    r = resolver()
    model = need(r.models.resolve(model_text), "model", "llama 3.1 8b") if model_text else None
    hw_ids: set[str] = set()
    if hardware_text:
        s = r.setup(hardware_text)
        need_setup(s)
        hw_ids = {d.spec.id for d in s.devices}
    exact = [b for b in cat.benchmarks if (model is None or b.model == model.id) and (not hw_ids or b.hardware in hw_ids)]
    nearest = False
    records = exact
    if not records:
        nearest = True
        records = [b for b in cat.benchmarks if (model is not None and b.model == model.id) or b.hardware in hw_ids]
    community: list[BenchSubmission] = []
    community_exact = True
    if store is not None:
        community, community_exact = await approved_near(store, model.id if model else None, hw_ids,
                                                         viewer or Viewer("console"))
    title = " on ".join(x for x in ((model.name if model else ""), ", ".join(sorted(hw_ids))) if x) or "Benchmarks"
    card = Card(title=f"Benchmarks: {title}", verdict="info")
    if not records and not community:
        card.summary = "No measurements for that yet. /willitrun gives an estimate; /bench submit adds yours."
        return card
    parts = []
    if records:
        parts.append(f"{len(records)} measured record{'s' if len(records) != 1 else ''}"
                     + (" (nearest; none match exactly)" if nearest else ""))
    if community:
        parts.append(f"{len(community)} approved community record{'s' if len(community) != 1 else ''}"
                     + ("" if community_exact else " (nearest; none match exactly)"))
    card.summary = "; ".join(parts) + "."
    for b in records[:12]:
        hw = cat.hardware[b.hardware].name
        count = f"{b.count}x " if b.count > 1 else ""
        depth = f" @ d{b.depth}" if b.depth else ""
        card.add(f"{b.model} {b.quant} (measured)",
                 f"{count}{hw} ({b.backend})\n{b.test}{depth}: **{b.tok_s:,.1f} tok/s**\n{b.source[:120]}")
    for sub in community[:8]:
        card.add(f"{sub.model} {sub.quant} (community #{sub.id})", describe(sub)
                 + (f"\n{sub.log_url}" if sub.log_url else ""))
    if community:
        groups: dict[tuple, list[BenchSubmission]] = {}
        for sub in community:
            groups.setdefault((sub.model, sub.quant, sub.hardware, sub.count), []).append(sub)
        lines = []
        for (m, q, hw, n), subs in list(groups.items())[:5]:
            agree = agreement(subs)
            if agree is not None:
                lines.append(f"{m} {q} on {hardware_label(hw, n)}: {agree.describe()}")
        card.add("Community agreement", "\n".join(lines), inline=False)
    card.evidence = (["measured"] if records else []) + (["community"] if community else [])
    card.footer = "measured: curated records with a source · community: approved user submissions"
    return card


# ---------------------------------------------------------------------------------------------
# /willitrun's community evidence
# ---------------------------------------------------------------------------------------------


def viewer_of(request: Request) -> Viewer:
    """Whose community records this request may see (see bot/store/queries.py)."""
    from bot.config import get_settings

    return Viewer(request.platform, request.server_id, frozenset(get_settings().trusted_servers))


async def add_community_evidence(card: Card, model_id: str, quant: str, hardware_ids: set[str], count: int,
                                 viewer: Viewer) -> None:
    """Approved community records on the same tuple that ``viewer`` may see, appended to a
    /willitrun card."""
    store = get_store()
    if store is None or len(hardware_ids) != 1:
        return
    try:
        records = await community_records(store, model_id, quant, hardware_ids, count, viewer)
    except Exception:  # noqa: BLE001 - evidence is extra; the estimate must still answer
        log.exception("community evidence lookup failed")
        return
    if not records:
        return
    lines = [f"#{s.id}: {s.gen_tok_s:,.1f} tok/s gen, ctx {s.context:,}, {s.runtime} ({s.backend})"
             for s in records[:5]]
    agree = agreement(records)
    if agree is not None:
        lines.append(agree.describe())
    card.add("Community", "\n".join(lines), inline=False)
    if "community" not in card.evidence:
        card.evidence.append("community")


# ---------------------------------------------------------------------------------------------
# /bench submit, confirm, mine
# ---------------------------------------------------------------------------------------------

NO_STORE = error_card("Submissions need the bot's database",
                      "This bot runs without a database, so it can't take benchmark submissions. "
                      "The operator sets DATABASE_URL (SQLite by default) to turn them on.")


def _read_field(fields: dict, read: set[str]) -> str:
    lines = []
    for name, label in LABELS.items():
        value = fields.get(name)
        if value in (None, "") or name not in read:
            continue
        lines.append(f"{label}: {value}")
    return "\n".join(lines)


async def submit(request: Request, store: Store) -> Card:
    o = request.options
    parsed: ParsedBench | None = None
    if o.get("paste"):
        parsed = parse_bench_output(str(o["paste"]))
        if parsed is None:
            return error_card("I couldn't read that output",
                              "Paste the output of `llama-bench` (the markdown table), `ollama run --verbose` "
                              "(the lines from 'total duration' on), llama-cli / llama-server timings "
                              "('prompt eval time = ...', 'eval time = ...') or vLLM's serving benchmark "
                              "('Serving Benchmark Result'). Or type the fields: model, hardware, quant, "
                              "runtime, ctx, gen_tok_s.")
    fields, read = merge_fields(o, parsed)
    source_format = parsed.format if parsed else "manual"
    try:
        checked = check_submission(fields, source_format)
    except SubmissionProblem as p:
        card = error_card(p.title, p.message, p.suggestions)
        if parsed is not None:
            card.add(f"Read from the {FORMAT_TEXT[parsed.format]}", _read_field(fields, read) or "nothing usable",
                     inline=False)
        return card
    await store.delete_stale_drafts(DRAFT_TTL)
    sub = checked.to_submission(submitter_of(request), request.platform, request.server_id, status="draft")
    sid = await store.add_submission(sub)
    return draft_card(sid, checked, parsed, read)


def draft_card(sid: int, c: CheckedSubmission, parsed: ParsedBench | None, read: set[str]) -> Card:
    card = Card(title=f"Check your submission #{sid}", verdict="info", ephemeral=True)
    origin = f"I read this from your {FORMAT_TEXT[parsed.format]}" if parsed else "Your submission"
    card.summary = (f"{origin}. If it is right, press **Confirm submission**: it then waits for a moderator. "
                    "If not, submit again with the corrected options (typed options win over the paste).")

    def mark(name: str) -> str:
        return " (read)" if name in read else ""

    card.add("Model", f"{c.model.name} `{c.model.id}`{mark('model')}")
    card.add("Quant", f"{c.quant.id}{mark('quant')}")
    card.add("Hardware", f"{hardware_label(c.hardware.id, c.count)}{mark('hardware')}")
    version = f" {c.runtime_version}" if c.runtime_version else ""
    card.add("Runtime", f"{c.runtime.name}{version} ({c.backend}){mark('runtime')}")
    card.add("Context", f"{c.context:,} tokens{mark('context')}")
    speeds = f"generation **{c.gen_tok_s:,.1f} tok/s**{mark('gen_tok_s')}"
    if c.prompt_tok_s:
        speeds += f"\nprompt {c.prompt_tok_s:,.0f} tok/s{mark('prompt_tok_s')}"
    card.add("Speed", speeds)
    card.add("Physical limit", f"≤ {c.bound_tok_s:,.1f} tok/s: {c.active_bytes / 1e9:.2f} GB of active weights "
             f"per token at {c.count * c.hardware.memory_bandwidth_gbps:,.0f} GB/s (accepted up to "
             f"{SPEED_MARGIN:g}x for speculative decoding and rounding)", inline=False)
    if c.log_url:
        card.add("Log", c.log_url, inline=False)
    if parsed is not None and parsed.notes:
        card.add("Notes", "\n".join(f"• {n}" for n in parsed.notes[:6]), inline=False)
    card.actions.append(Action("Confirm submission", command="bench", args=(("action", "confirm"), ("id", str(sid)))))
    card.footer = "Drafts not confirmed within a day are deleted."
    return card


def _id(request: Request) -> int | None:
    raw = request.options.get("id")
    try:
        return int(str(raw).lstrip("#")) if raw not in (None, "") else None
    except ValueError:
        return None


async def confirm(request: Request, store: Store) -> Card:
    sid = _id(request)
    if sid is None:
        return error_card("Which submission?", "Give the draft's number: `/bench confirm 12`.")
    try:
        sub = await store.confirm_submission(sid, submitter_of(request))
    except NotFound:
        return error_card("No such draft", f"There is no draft #{sid} of yours (drafts expire after a day).")
    except InvalidTransition as exc:
        return Card(title=f"Submission #{sid}", summary=f"Nothing to do: {exc}.", verdict="info", ephemeral=True)
    card = Card(title=f"Submission #{sid} is in the review queue", verdict="comfortable", ephemeral=True)
    card.summary = "A moderator will approve or reject it; `/bench mine` shows its status."
    card.add(f"{sub.model} {sub.quant}", describe(sub), inline=False)
    return card


async def mine(request: Request, store: Store) -> Card:
    subs = await store.list_submissions(submitter=submitter_of(request), limit=20)
    card = Card(title="Your benchmark submissions", verdict="info", ephemeral=True)
    if not subs:
        card.summary = "You haven't submitted any yet: `/bench submit` with your llama-bench or ollama output."
        return card
    counts = {s: sum(1 for x in subs if x.status == s) for s in STATUS_TEXT}
    card.summary = ", ".join(f"{n} {STATUS_TEXT[s]}" for s, n in counts.items() if n)
    for sub in subs[:15]:
        status = STATUS_TEXT[sub.status] + (f": {sub.reason}" if sub.reason else "")
        card.add(f"#{sub.id} {sub.model} {sub.quant}", f"{describe(sub)}\n**{status}**", inline=False)
    return card


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------


async def handle(request: Request) -> Card:
    o = request.options
    action = o.get("action") or ("submit" if o.get("paste") or o.get("gen_tok_s") else "list")
    store = get_store()
    if action == "review":
        return error_card("Reviews have their own command",
                          "Moderators use `/bench-review` (it needs the Manage Server permission on Discord, "
                          "workspace admin on Slack).")
    try:
        if action in ("submit", "confirm", "mine"):
            if store is None:
                return NO_STORE
            return await {"submit": submit, "confirm": confirm, "mine": mine}[action](request, store)
        if not o.get("model") and not o.get("hardware"):
            return error_card("Which benchmarks?", "Give a model and/or hardware: `/bench llama 3.1 8b on rtx 4080`.")
        return await bench_card(str(o.get("model") or ""), str(o.get("hardware") or ""), store,
                                viewer_of(request))
    except UserError as exc:
        return exc.card


COMMAND = Command(
    "bench", "Measured and community tokens/s for a model and hardware; submit and track your own.", handle,
    (Option("action", "list (default), submit, confirm, mine", choices=("list", "submit", "confirm", "mine", "review")),
     Option("model", "Model", autocomplete="model"),
     Option("hardware", "Hardware, e.g. 'rtx 4090' or '2x 3090'", autocomplete="hardware"),
     Option("quant", "Quantization (submit)", autocomplete="quant"),
     Option("runtime", "Runtime (submit)", autocomplete="runtime"),
     Option("runtime_version", "Runtime version, e.g. b4567 or 0.6.2 (submit)"),
     Option("backend", "GPU backend (submit)", choices=("cuda", "rocm", "metal", "vulkan", "sycl", "cpu")),
     Option("ctx", "Context length of the run (submit)", type="int", min_value=1, max_value=10_000_000),
     Option("prompt_tok_s", "Prompt processing tokens/s (submit)", type="float", min_value=0.001),
     Option("gen_tok_s", "Generation tokens/s (submit)", type="float", min_value=0.001),
     Option("log_url", "Link to the full log (submit, optional)"),
     Option("paste", "Output of llama-bench, ollama run --verbose, llama.cpp timings or vLLM's benchmark"),
     Option("id", "Submission number (confirm)", type="int", min_value=1)),
    examples=("/bench llama 3.1 8b on rtx 4080",
              "/bench submit llama 3.1 8b on rtx 4090 q4_k_m llama.cpp ctx 8192 gen 140 pp 9000",
              "/bench mine"),
)
