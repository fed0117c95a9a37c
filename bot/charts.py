"""PNG charts for /willitrun and /compare: memory per device against its budget, and decode
speed against context length. Drawn with Pillow (imported lazily; the text renderers use the
Card's compact bar instead)."""

from __future__ import annotations

import io
from dataclasses import replace

from catalog.loader import Catalog

from .estimator import FitResult, estimate

GIB = 1024**3
W, H = 800, 420
COLORS = {"weights": (52, 152, 219), "kv_cache": (155, 89, 182), "compute": (230, 126, 34),
          "overhead": (149, 165, 166)}
BG, FG, GRID = (30, 31, 34), (230, 230, 230), (70, 72, 76)


def _font(size: int):
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def memory_chart(result: FitResult) -> bytes:
    """Stacked bars per device (weights, KV, compute, overhead) with the usable budget marked."""
    from PIL import Image, ImageDraw

    devices = list(result.devices)
    if result.host is not None and (result.gpu_layers < result.total_layers or not devices):
        devices.append(result.host)
    img = Image.new("RGB", (W, H), BG)
    d = ImageDraw.Draw(img)
    d.text((20, 12), "Memory per device (GiB)", fill=FG, font=_font(20))
    top = max([max(x.total, x.usable) for x in devices] + [1])
    left, right, y0 = 190, W - 40, 60
    row_h = min(60, (H - y0 - 50) // max(len(devices), 1))
    for i, dev in enumerate(devices):
        y = y0 + i * row_h
        d.text((20, y + row_h // 4), dev.label[:22], fill=FG, font=_font(14))
        x = left
        for part in ("weights", "kv_cache", "compute", "overhead"):
            w = getattr(dev, part) / top * (right - left)
            if w > 0:
                d.rectangle([x, y + 6, x + w, y + row_h - 10], fill=COLORS[part])
                x += w
        xb = left + dev.usable / top * (right - left)
        d.line([xb, y, xb, y + row_h - 4], fill=(231, 76, 60), width=3)
        d.text((xb + 4, y + row_h - 22), f"{dev.usable / GIB:.1f}", fill=(231, 76, 60), font=_font(12))
    ly = H - 30
    for j, (part, color) in enumerate(COLORS.items()):
        d.rectangle([20 + j * 150, ly, 34 + j * 150, ly + 14], fill=color)
        d.text((40 + j * 150, ly - 1), part.replace("_", " "), fill=FG, font=_font(13))
    d.line([620, ly + 7, 640, ly + 7], fill=(231, 76, 60), width=3)
    d.text((646, ly - 1), "usable", fill=FG, font=_font(13))
    return _png(img)


def speed_chart(result: FitResult, catalog: Catalog, points: int = 12) -> bytes | None:
    """Expected decode tok/s as the context fills, from 1K tokens to the request's context."""
    from PIL import Image, ImageDraw

    req = result.request
    if not result.decode_tok_s:
        return None
    ctxs = sorted({max(1024, int(req.ctx * k / (points - 1))) for k in range(points)})
    speeds = []
    for c in ctxs:
        r = estimate(replace(req, prompt_tokens=c, ctx=max(c, req.ctx)), catalog)
        speeds.append(r.decode_tok_s[1] if r.decode_tok_s else 0.0)
    img = Image.new("RGB", (W, H), BG)
    d = ImageDraw.Draw(img)
    d.text((20, 12), "Decode speed vs context (expected tok/s)", fill=FG, font=_font(20))
    left, right, top, bottom = 70, W - 30, 60, H - 50
    ymax = max(speeds) * 1.1 or 1
    for k in range(5):
        y = bottom - k * (bottom - top) / 4
        d.line([left, y, right, y], fill=GRID)
        d.text((10, y - 8), f"{ymax * k / 4:.0f}", fill=FG, font=_font(12))
    pts = [(left + (c - ctxs[0]) / max(ctxs[-1] - ctxs[0], 1) * (right - left),
            bottom - s / ymax * (bottom - top)) for c, s in zip(ctxs, speeds)]
    d.line(pts, fill=(46, 204, 113), width=3)
    for x, c in zip([p[0] for p in pts][:: max(1, len(pts) // 6)], ctxs[:: max(1, len(pts) // 6)]):
        d.text((x - 12, bottom + 8), f"{c // 1024}K", fill=FG, font=_font(12))
    return _png(img)


def _png(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def willitrun_chart(result: FitResult, catalog: Catalog) -> bytes:
    """Memory per device above decode speed against context, in one PNG."""
    from PIL import Image

    parts = [memory_chart(result)]
    speed = speed_chart(result, catalog)
    if speed:
        parts.append(speed)
    images = [Image.open(io.BytesIO(p)) for p in parts]
    out = Image.new("RGB", (W, H * len(images)), BG)
    for i, im in enumerate(images):
        out.paste(im, (0, i * H))
    return _png(out)


def compare_chart(labels: tuple[str, str], rows: list[tuple[str, float | None, float | None]]) -> bytes:
    """Grouped bars: expected decode tok/s per model on each of two set-ups (None: does not fit)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (W, H), BG)
    d = ImageDraw.Draw(img)
    d.text((20, 12), "Expected decode tok/s at 8K context", fill=FG, font=_font(20))
    colors = ((52, 152, 219), (46, 204, 113))
    top = max([v for _, a, b in rows for v in (a, b) if v] + [1]) * 1.1
    left, right, y0 = 230, W - 60, 60
    row_h = min(50, (H - y0 - 50) // max(len(rows), 1))
    for i, (name, a, b) in enumerate(rows):
        y = y0 + i * row_h
        d.text((20, y + row_h // 4), name[:28], fill=FG, font=_font(13))
        for j, v in enumerate((a, b)):
            yy = y + 4 + j * (row_h - 8) // 2
            if v:
                x1 = left + v / top * (right - left)
                d.rectangle([left, yy, x1, yy + (row_h - 12) // 2], fill=colors[j])
                d.text((x1 + 4, yy - 2), f"{v:.0f}", fill=FG, font=_font(12))
            else:
                d.text((left, yy - 2), "does not fit", fill=(231, 76, 60), font=_font(12))
    ly = H - 30
    for j, label in enumerate(labels):
        d.rectangle([20 + j * 380, ly, 34 + j * 380, ly + 14], fill=colors[j])
        d.text((40 + j * 380, ly - 1), label[:40], fill=FG, font=_font(13))
    return _png(img)
