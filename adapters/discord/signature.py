"""Discord's request signing: Ed25519 over timestamp + body, fresh, and never the same twice.

See "Validating Security Request Headers" in Discord's interactions overview
(https://discord.com/developers/docs/interactions/overview).
"""

from __future__ import annotations

import time

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from bot.replay import WINDOW_S, ReplayMemory

MAX_AGE_S = WINDOW_S      # a signature older (or newer) than this is stale


class SignatureCheck:
    """Verifies a request's signature; remembers recent signatures to refuse replays (in this
    process, and across replicas when ``replays`` shares a store)."""

    def __init__(self, public_key_hex: str, max_age_s: float = MAX_AGE_S,
                 replays: ReplayMemory | None = None) -> None:
        self._key = VerifyKey(bytes.fromhex(public_key_hex))
        self.max_age_s = max_age_s
        self.replays = replays or ReplayMemory("discord", window_s=max_age_s)

    async def problem(self, signature_hex: str | None, timestamp: str | None, body: bytes,
                      now: float | None = None) -> str | None:
        """None when the request is genuine, fresh and new; else why it is refused."""
        now = time.time() if now is None else now
        if not signature_hex or not timestamp:
            return "missing signature headers"
        try:
            signature = bytes.fromhex(signature_hex)
            sent_at = float(timestamp)
        except ValueError:
            return "malformed signature headers"
        if abs(now - sent_at) > self.max_age_s:
            return "stale timestamp"
        try:
            self._key.verify(timestamp.encode() + body, signature)
        except (BadSignatureError, ValueError):
            return "bad signature"
        if not await self.replays.is_new(signature.hex(), now):
            return "replayed signature"
        return None
