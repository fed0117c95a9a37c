"""/costvscloud: local hardware + electricity against an API's per-token prices."""

from __future__ import annotations

from catalog.loader import get_catalog

from bot.card import Card, Source, error_card
from bot.estimator import Options, estimate, plan
from bot.registry import Command, Option, Request

from ._common import UserError, need, need_setup, resolver

DEFAULT_KWH_USD = 0.15    # assumption, stated in the answer
DEFAULT_INPUT_SHARE = 0.75  # share of tokens that are prompt (input) tokens: assumption


def cost_card(opts: dict) -> Card:
    cat = get_catalog()
    r = resolver()
    if not cat.api_prices:
        return error_card("No API prices", "The catalog has no API price table yet.")
    if opts.get("api"):
        match = r.api_prices.resolve(str(opts["api"]))
        if not (match.found or match.candidates or match.suggestions):
            providers = ", ".join(sorted({p.provider for p in cat.api_prices.values()}))
            return error_card("Unknown API model", (
                f"I have no price for '{match.query.strip()}'. Priced so far: {providers} (e.g. `sonnet 4.5`, "
                "`deepseek chat`); a price is added only from the provider's own pricing page."))
        api = need(match, "API model", "sonnet 4.5")
    else:
        # No API named: compare with the cheapest priced model, and say so.
        api = min(cat.api_prices.values(), key=lambda p: p.input_usd_per_mtok + p.output_usd_per_mtok)
    setup = r.setup(str(opts.get("hardware") or "rtx 3090"))
    need_setup(setup)
    model = need(r.models.resolve(str(opts.get("model") or "llama-3.1-8b")), "model", "llama 3.1 8b")
    tokens_day = float(opts.get("tokens_per_day") or 1_000_000)
    if not (1 <= tokens_day <= 1e11):
        raise UserError(error_card("Tokens per day out of range", "Use 1 to 100B tokens/day, e.g. `2M tokens/day`."))
    kwh = float(opts.get("kwh_price") or DEFAULT_KWH_USD)
    res = estimate(plan(cat, model, setup.devices, Options(ctx=8192)), cat)
    spec = setup.devices[0].spec
    count = sum(d.count for d in setup.devices)
    price = spec.launch_price_usd * count if spec.launch_price_usd else None
    api_day = tokens_day / 1e6 * (DEFAULT_INPUT_SHARE * api.input_usd_per_mtok + (1 - DEFAULT_INPUT_SHARE) * api.output_usd_per_mtok)
    card = Card(title=f"{setup.devices[0].label} vs {api.provider} {api.model}", verdict="info")
    assumptions = [f"{DEFAULT_INPUT_SHARE:.0%} of tokens are input (prompt), the rest output",
                   f"electricity ${kwh:.2f}/kWh" + (" (assumed)" if not opts.get("kwh_price") else ""),
                   f"local model {model.name}, 8K context (answers are not the same quality as the API model)"]
    if res.fit == "no" or not res.decode_tok_s or not res.prefill_tok_s:
        card.summary = f"{model.name} doesn't run well enough on that hardware to compare; try /willitrun."
        card.verdict = "no"
        return card
    out_tokens = tokens_day * (1 - DEFAULT_INPUT_SHARE)
    in_tokens = tokens_day * DEFAULT_INPUT_SHARE
    hours = (out_tokens / res.decode_tok_s[1] + in_tokens / res.prefill_tok_s[1]) / 3600
    if hours > 24:
        card.summary = (f"{tokens_day:,.0f} tokens/day would take {hours:.0f} hours a day on this hardware "
                        "at one request at a time: it cannot keep up.")
        card.verdict = "no"
    watts = (spec.tdp_w or 0) * count
    power_day = watts / 1000 * hours * kwh
    card.add("API", f"${api_day * 30:,.2f}/month\n(${api.input_usd_per_mtok:g} in / ${api.output_usd_per_mtok:g} out per 1M)")
    card.add("Local electricity", f"${power_day * 30:,.2f}/month\n{hours:.1f} h/day at {watts:g} W (TDP)" if watts else "TDP unknown")
    if price and api_day > power_day:
        months = price / ((api_day - power_day) * 30)
        card.add("Break-even", f"{months:,.1f} months on a ${price:,.0f} purchase (launch price)")
    elif price:
        card.add("Break-even", "never: electricity costs more than the API for this volume")
    else:
        card.add("Break-even", "hardware price unknown")
    if not card.summary:
        card.summary = "Local pays for itself when the API bill beats electricity by enough to cover the hardware."
    card.add("Assumptions", "\n".join(f"• {a}" for a in assumptions), inline=False)
    card.evidence = ["estimated", f"API prices as of {api.as_of.isoformat()}"]
    card.sources = [Source(f"{api.provider} pricing", api.source), Source(spec.name, spec.source)]
    return card


async def handle(request: Request) -> Card:
    try:
        return cost_card(request.options)
    except UserError as exc:
        return exc.card


COMMAND = Command("costvscloud", "Local hardware + electricity vs a cloud API: monthly cost and break-even.", handle,
                  (Option("api", "API model, e.g. 'sonnet 4.5'", autocomplete="api"),
                   Option("hardware", "Your hardware", autocomplete="hardware"),
                   Option("model", "Local model", autocomplete="model"),
                   Option("tokens_per_day", "Tokens per day (e.g. 2M)", type="float", min_value=1),
                   Option("kwh_price", "Electricity price, USD per kWh", type="float", min_value=0),
                   Option("hours_per_day", "Hours of use per day (informational)", type="float", min_value=0)),
                  examples=("/costvscloud 2M tokens/day sonnet 4.5 on 3090", "/costvscloud llama 3.1 70b on 2x 3090 vs sonnet 4.5"))
