"""Pasted logs and attachments (the Discord "Troubleshoot this" menu): size limits, binary files,
wrong encodings and hostile names are answered clearly and safely."""

from __future__ import annotations

import pytest

from adapters.discord.message_tools import AttachmentRef, troubleshoot_message_card
from bot.errors_kb import MAX_LOG_BYTES

from .limits_check import check_card

CUDA_OOM = "CUDA error: out of memory\nggml_cuda_init: failed"


def attachment(name: str, data: bytes, size: int | None = None, fail: bool = False) -> AttachmentRef:
    async def read() -> bytes:
        if fail:
            raise OSError("connection reset")
        return data

    return AttachmentRef(name, len(data) if size is None else size, read)


@pytest.mark.parametrize(("att", "note"), [
    (attachment("big.log", b"x", size=MAX_LOG_BYTES + 1), "over the 100 KB"),
    (attachment("lies.log", b"y" * (MAX_LOG_BYTES + 10), size=10), "over the 100 KB"),
    (attachment("core.log", b"\x7fELF\x00\x01\x02" * 100), "binary"),
    (attachment("latin1.txt", "défaut: mémoire".encode("latin-1")), "not UTF-8"),
    (attachment("utf16.log", CUDA_OOM.encode("utf-16")), "binary"),
    (attachment("photo.png", b"\x89PNG"), "not a .txt or .log"),
    (attachment("gone.log", b"", fail=True), "could not be downloaded"),
    (attachment("@everyone <@&1> [x](https://evil) ```.log", b"\x00"), "binary"),
])
async def test_unreadable_attachments_are_named(att: AttachmentRef, note: str):
    """Each skipped attachment is named with the reason; the card stays within limits and pings no one."""
    card = await troubleshoot_message_card("", [att])
    notes = next(f.value for f in card.fields if f.name == "Attachments")
    assert note in notes
    check_card(card)


async def test_log_attachment_is_read_up_to_the_limit():
    """A 100 KB UTF-8 log with a known error is read and recognised, alongside a skipped file."""
    log = (CUDA_OOM + "\n").encode() + b"." * (MAX_LOG_BYTES - 200)
    card = await troubleshoot_message_card("help @here", [attachment("run.log", log), attachment("x.bin", b"1")])
    assert card.title != "Nothing to troubleshoot"
    check_card(card)
