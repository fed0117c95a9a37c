"""Discord's request signing: Ed25519 over timestamp + body, fresh, and never the same twice.

See "Validating Security Request Headers" in Discord's interactions overview
(https://discord.com/developers/docs/interactions/overview).
"""

from __future__ import annotations

import time
from collections import OrderedDict

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

MAX_AGE_S = 300          # a signature older (or newer) than this is stale
MAX_REMEMBERED = 100_000  # bound on the replay memory; the oldest are forgotten first


class SignatureCheck:
    """Verifies a request's signature; remembers recent signatures to refuse replays."""

    def __init__(self, public_key_hex: str, max_age_s: float = MAX_AGE_S,
                 max_remembered: int = MAX_REMEMBERED) -> None:
        self._key = VerifyKey(bytes.fromhex(public_key_hex))
        self.max_age_s = max_age_s
        self.max_remembered = max_remembered
        self._seen: OrderedDict[bytes, float] = OrderedDict()   # signature -> when it was accepted

    def problem(self, signature_hex: str | None, timestamp: str | None, body: bytes,
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
        self._forget_older_than(now - self.max_age_s)
        if signature in self._seen:
            return "replayed signature"
        self._seen[signature] = now
        while len(self._seen) > self.max_remembered:
            self._seen.popitem(last=False)
        return None

    def _forget_older_than(self, cutoff: float) -> None:
        while self._seen:
            oldest = next(iter(self._seen.values()))
            if oldest >= cutoff:
                break
            self._seen.popitem(last=False)
