"""Answers to response_url share one session, and still go out after shutdown closed it."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.slack.response_url import ResponseUrlPoster


async def test_one_session_for_many_answers_and_one_off_after_close():
    received: list[dict] = []
    peers: set = set()

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        peers.add(request.transport.get_extra_info("peername"))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    poster = ResponseUrlPoster()
    try:
        url = str(server.make_url("/hook"))
        for i in range(5):
            assert await poster.post(url, {"text": str(i)}) == (200, "ok")
        assert len(peers) == 1                       # keep-alive: one connection for all five
        await poster.close()
        assert await poster.post(url, {"text": "late"}) == (200, "ok")
        assert [m["text"] for m in received] == ["0", "1", "2", "3", "4", "late"]
    finally:
        await poster.close()
        await server.close()
