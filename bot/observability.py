"""Metrics, structured logs, health and readiness: what an operator watches.

- Prometheus metrics (prometheus-client, the default registry): commands by name and outcome and
  their latency, autocomplete latency, platform errors, store call latency, HTTP requests.
- ``add_ops_routes(app, store)``: GET /healthz, /readyz and /metrics on an aiohttp app, plus a
  middleware timing every request and binding its interaction id to the log context. Both HTTP
  front-ends call it; ``ops_app`` is the same routes standalone for the gateway modes.
- ``configure_logging``: JSON lines (one object per record, with ``interaction_id`` when known)
  when ``log_json`` is set, plain text otherwise. A handler counts ERROR records of the adapters
  and platform libraries as platform errors.

Commands are timed by wrapping each registered handler (``instrument_registry``), so the core
(bot/dispatch.py) needs no change; ``observe_command`` is the same measurement as a context
manager for callers that want it explicitly.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import functools
import inspect
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

log = logging.getLogger(__name__)

_FAST_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

COMMANDS = Counter("runlocalai_commands_total", "Commands run, by command and outcome (ok, error, exception)",
                   ["command", "outcome"])
COMMAND_SECONDS = Histogram("runlocalai_command_duration_seconds", "Time to produce a command's card",
                            ["command"], buckets=_FAST_S)
AUTOCOMPLETE_SECONDS = Histogram("runlocalai_autocomplete_duration_seconds", "Time to compute autocomplete choices",
                                 ["kind"], buckets=_FAST_S)
PLATFORM_ERRORS = Counter("runlocalai_platform_errors_total",
                          "Errors logged by the platform adapters and libraries, and HTTP 5xx answers",
                          ["platform"])
STORE_SECONDS = Histogram("runlocalai_store_duration_seconds", "Store call latency", ["operation"],
                          buckets=_FAST_S)
STORE_ERRORS = Counter("runlocalai_store_errors_total", "Store calls that raised", ["operation"])
HTTP_SECONDS = Histogram("runlocalai_http_request_duration_seconds", "HTTP request latency, by route and status",
                         ["route", "status"], buckets=_FAST_S)

interaction_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("interaction_id", default=None)


# -- commands, autocomplete, store ------------------------------------------------------------------

@contextmanager
def observe_command(name: str) -> Iterator[Callable[[str], None]]:
    """Time one command; call the yielded function with the outcome ("ok" or "error").
    An exception escaping the block counts as outcome "exception"."""
    outcome = ["ok"]
    start = time.perf_counter()
    try:
        yield lambda value: outcome.__setitem__(0, value)
    except BaseException:
        outcome[0] = "exception"
        raise
    finally:
        COMMAND_SECONDS.labels(name).observe(time.perf_counter() - start)
        COMMANDS.labels(name, outcome[0]).inc()


def _timed_handler(name: str, handler: Callable[[Any], Awaitable[Any]]) -> Callable[[Any], Awaitable[Any]]:
    if getattr(handler, "__observed__", False):
        return handler

    @functools.wraps(handler)
    async def timed(request: Any) -> Any:
        with observe_command(name) as set_outcome:
            card = await handler(request)
            set_outcome("error" if getattr(card, "verdict", None) == "error" else "ok")
            return card

    timed.__observed__ = True  # type: ignore[attr-defined]
    return timed


def instrument_registry(registry: Any | None = None) -> None:
    """Wrap every command handler of the registry with ``observe_command`` (idempotent)."""
    if registry is None:
        from bot.commands import build_registry

        registry = build_registry()
    registry.wrap_handlers(_timed_handler)


def observe_autocomplete(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for ``suggestions(kind, current, ...)``: its latency by kind."""
    @functools.wraps(fn)
    def timed(kind: str, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(kind, *args, **kwargs)
        finally:
            AUTOCOMPLETE_SECONDS.labels(str(kind)).observe(time.perf_counter() - start)

    return timed


class InstrumentedStore:
    """A Store whose coroutine methods are timed (and their failures counted) by operation."""

    def __init__(self, store: Any) -> None:
        self._store = store

    @property
    def wrapped(self) -> Any:
        return self._store

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        @functools.wraps(attr)
        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await attr(*args, **kwargs)
            except Exception:
                STORE_ERRORS.labels(name).inc()
                raise
            finally:
                STORE_SECONDS.labels(name).observe(time.perf_counter() - start)

        return timed


def instrument_store(store: Any) -> Any:
    return store if isinstance(store, InstrumentedStore) else InstrumentedStore(store)


# -- logging ----------------------------------------------------------------------------------------

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, interaction_id, extras, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
        }
        iid = getattr(record, "interaction_id", None) or interaction_id.get()
        if iid and iid != "-":
            out["interaction_id"] = iid
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in out and key != "interaction_id" and not key.startswith("_"):
                out[key] = value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
        if record.exc_info:
            out["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class InteractionIdFilter(logging.Filter):
    """Puts the current interaction id on every record (text logs show it as [id])."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "interaction_id"):
            record.interaction_id = interaction_id.get() or "-"
        return True


class PlatformErrorCounter(logging.Handler):
    """Counts ERROR records of the Discord/Slack adapters and libraries as platform errors."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)

    def emit(self, record: logging.LogRecord) -> None:
        name = record.name
        platform = ("discord" if name.startswith(("adapters.discord", "discord")) else
                    "slack" if name.startswith(("adapters.slack", "slack_bolt", "slack_sdk")) else None)
        if platform:
            PLATFORM_ERRORS.labels(platform).inc()


def configure_logging(level: str = "INFO", json_lines: bool = False) -> None:
    """Root logging to stderr: JSON lines or text, each record with its interaction id."""
    handler = logging.StreamHandler()
    handler.addFilter(InteractionIdFilter())
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(interaction_id)s] %(message)s"))
    root = logging.getLogger()
    for h in list(root.handlers):
        if isinstance(h, (logging.StreamHandler, PlatformErrorCounter)) and not isinstance(h, logging.FileHandler):
            root.removeHandler(h)
    root.addHandler(handler)
    root.addHandler(PlatformErrorCounter())
    root.setLevel(level.upper())


# -- health, readiness, metrics ---------------------------------------------------------------------

STORE_KEY: web.AppKey[Any] = web.AppKey("ops_store", object)
DRAINING: web.AppKey[list[bool]] = web.AppKey("ops_draining", list)
_draining = [False]


def start_draining() -> None:
    """From now on /readyz answers 503 (SIGTERM received: load balancers stop sending)."""
    _draining[0] = True


def catalog_loaded() -> bool:
    import catalog.loader

    return catalog.loader._CATALOG is not None


async def readiness(store: Any, timeout_s: float = 2.0) -> tuple[bool, dict[str, Any]]:
    """(ready, checks): the catalog is loaded, the store answers, and we are not shutting down."""
    checks: dict[str, Any] = {"catalog": catalog_loaded(), "draining": _draining[0]}
    if store is None:
        checks["store"] = "none"
    else:
        try:
            checks["store"] = f"schema v{await asyncio.wait_for(store.schema_version(), timeout_s)}"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            checks["store"] = f"unreachable: {type(exc).__name__}"
    ready = checks["catalog"] and not checks["draining"] and not str(checks["store"]).startswith("unreachable")
    return bool(ready), checks


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def _readyz(request: web.Request) -> web.Response:
    ready, checks = await readiness(request.app[STORE_KEY])
    return web.json_response({"ready": ready, **checks}, status=200 if ready else 503)


async def _metrics(request: web.Request) -> web.Response:
    body = generate_latest()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def bind_interaction_id(value: object) -> None:
    """Name the request being served in the log records written from here on (a platform
    handler calls it once it has parsed the payload's id; ``ops_middleware`` unbinds it)."""
    if value:
        interaction_id.set(str(value))


@web.middleware
async def ops_middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                         ) -> web.StreamResponse:
    """Times the request by route and status; binds an interaction id (X-Request-Id, else a
    fresh one, until the handler binds the payload's own: ``bind_interaction_id``) for the log
    records written while it runs."""
    start = time.perf_counter()
    token = interaction_id.set(request.headers.get("X-Request-Id") or uuid.uuid4().hex[:16])
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        interaction_id.reset(token)
        route = request.match_info.route.resource
        HTTP_SECONDS.labels(route.canonical if route is not None else "unmatched",
                            str(status)).observe(time.perf_counter() - start)
        if status >= 500:
            PLATFORM_ERRORS.labels("http").inc()


def add_ops_routes(app: web.Application, store: Any = None) -> web.Application:
    """GET /healthz (kept if the app has one), /readyz, /metrics, and the timing middleware.
    Also instruments the command registry (idempotent)."""
    app[STORE_KEY] = store
    existing = {getattr(r.resource, "canonical", None) for r in app.router.routes()}
    if "/healthz" not in existing:
        app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_get("/metrics", _metrics)
    app.middlewares.append(ops_middleware)
    instrument_registry()
    return app


def ops_app(store: Any) -> web.Application:
    """The ops routes alone, for the gateway modes (RUNLOCALAI_OPS_PORT)."""
    return add_ops_routes(web.Application(), store)
