"""/bench-review: the moderation queue of community benchmark submissions.

Lists pending submissions with what a moderator needs to judge them (the estimate for the same
tuple and the physical limit), and approves or rejects one with a reason. Who may run it is the
adapters' business (``requires="manage_server"``: Manage Server on Discord, workspace admins on
Slack). Moderators act on their own server's queue; the console (the operator) on every queue.
Nobody reviews their own submission, except the operator.
"""

from __future__ import annotations

import logging

from catalog.loader import get_catalog
from catalog.resolve import Device

from bot.card import Action, Card, error_card
from bot.community import SPEED_MARGIN, decode_bound_tok_s, hardware_by_id
from bot.estimator import Options, PlanError, estimate, plan
from bot.registry import Command, Option, Request
from bot.store import InvalidTransition, NotFound, get_store
from bot.store.base import BenchSubmission, Store

from .bench import NO_STORE, describe, submitter_of

log = logging.getLogger(__name__)

MAX_REASON = 300


def _is_operator(request: Request) -> bool:
    return request.platform == "console"


def _in_scope(request: Request, sub: BenchSubmission) -> bool:
    return _is_operator(request) or (sub.platform == request.platform and sub.server_id == request.server_id)


def judgement(sub: BenchSubmission) -> str:
    """The estimate and the physical limit for the submission's tuple, for the moderator."""
    cat = get_catalog()
    model, quant = cat.models.get(sub.model), cat.quants.get(sub.quant)
    spec = hardware_by_id(sub.hardware)
    if model is None or quant is None or spec is None:
        return "ids no longer in the catalog"
    parts = []
    bound, _ = decode_bound_tok_s(model, quant, spec, sub.count, cat)
    parts.append(f"limit {bound:,.0f} tok/s ({sub.gen_tok_s / bound:.0%} of it)")
    try:
        device = Device(spec, sub.count, spec.memory_gib[-1])
        req = plan(cat, model, (device,), Options(quant=quant, runtime=cat.runtimes.get(sub.runtime),
                                                  backend=sub.backend, ctx=sub.context))
        expected = estimate(req, cat).decode_tok_s
        if expected:
            parts.append(f"estimate ~{expected[1]:,.1f} tok/s ({sub.gen_tok_s / expected[1]:.2f}x)")
    except (PlanError, ValueError, KeyError):
        parts.append("no estimate for this set-up")
    return " · ".join(parts)


async def queue(request: Request, store: Store) -> Card:
    pending = [s for s in await store.list_submissions(status="pending", limit=200) if _in_scope(request, s)]
    card = Card(title="Benchmark review queue", verdict="info", ephemeral=True)
    if not pending:
        card.summary = "Nothing is waiting for review."
        return card
    card.summary = (f"{len(pending)} submission{'s' if len(pending) != 1 else ''} waiting, oldest first. "
                    "`/bench-review approve ID [reason]` or `/bench-review reject ID reason`.")
    for sub in sorted(pending, key=lambda s: s.id or 0)[:10]:
        link = f"\n{sub.log_url}" if sub.log_url else ""
        card.add(f"#{sub.id} {sub.model} {sub.quant} ({sub.source_format})",
                 f"{describe(sub)}\n{judgement(sub)}\nby {sub.submitter}{link}", inline=False)
        if len(card.actions) < 5:
            card.actions.append(Action(f"Approve #{sub.id}", command="bench-review",
                                       args=(("action", "approve"), ("id", str(sub.id)))))
    card.footer = (f"Speeds above {SPEED_MARGIN:g}x the limit were refused at submission; "
                   "rejecting needs a reason, which the submitter sees.")
    return card


async def decide(request: Request, store: Store, approve: bool) -> Card:
    raw = request.options.get("id")
    try:
        sid = int(str(raw).lstrip("#"))
    except ValueError:
        sid = None
    if sid is None:
        return error_card("Which submission?", "Give its number: `/bench-review approve 12`.")
    reason = (str(request.options.get("reason") or "").strip() or None)
    if reason:
        reason = reason[:MAX_REASON]
    if not approve and not reason:
        return error_card("A rejection needs a reason", "The submitter sees it: `/bench-review reject 12 wrong quant`.")
    sub = await store.get_submission(sid)
    if sub is None or not _in_scope(request, sub) or sub.status == "draft":
        return error_card("No such submission", f"There is no submission #{sid} in this server's queue.")
    if sub.submitter == submitter_of(request) and not _is_operator(request):
        return error_card("Not your own", "Someone else has to review your submission.")
    try:
        done = await store.review(sid, approve=approve, moderator=submitter_of(request), reason=reason)
    except NotFound:
        return error_card("No such submission", f"There is no submission #{sid}.")
    except InvalidTransition as exc:
        return Card(title=f"Submission #{sid}", summary=f"Nothing to do: {exc}.", verdict="info", ephemeral=True)
    verdict = "comfortable" if approve else "no"
    card = Card(title=f"Submission #{sid} {done.status}", verdict=verdict, ephemeral=True)  # type: ignore[arg-type]
    card.summary = ("It now shows as `community` evidence in /bench and /willitrun." if approve
                    else "The submitter sees the reason in `/bench mine`.")
    card.add(f"{done.model} {done.quant}", describe(done) + (f"\nreason: {done.reason}" if done.reason else ""),
             inline=False)
    return card


async def handle(request: Request) -> Card:
    store = get_store()
    if store is None:
        return NO_STORE
    action = request.options.get("action") or "list"
    if action == "list":
        return await queue(request, store)
    return await decide(request, store, approve=action == "approve")


COMMAND = Command(
    "bench-review", "Moderators: approve or reject community benchmark submissions.", handle,
    (Option("action", "list (default), approve, reject", choices=("list", "approve", "reject")),
     Option("id", "Submission number", type="int", min_value=1),
     Option("reason", "Why (required to reject; the submitter sees it)")),
    examples=("/bench-review", "/bench-review approve 12", "/bench-review reject 12 numbers are from Q8_0"),
    requires="manage_server",
)
