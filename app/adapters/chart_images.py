"""Charts as PNG images, drawn with Pillow, for documents that cannot take SVG (the memo's Word
copy): the stacked-bar chart of totals and the swatches of its legend.

Positions come in millimetres (the geometry the memo's SVG chart is drawn from) and are
scaled to ``dpi``. Criteria are told apart by greys and hatchings, as on paper. Text is
drawn with the bundled DejaVu Sans Condensed (static/fonts), so nothing is fetched and the
same chart always gives the same PNG bytes (no timestamps or metadata are written).
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from app.config import ROOT

FONTS = Path(ROOT, "static", "fonts")
REGULAR = FONTS / "DejaVuSansCondensed.ttf"
BOLD = FONTS / "DejaVuSansCondensed-Bold.ttf"
DPI = 200
INK = "#1a1a1a"
TICK = "#8c8c8c"
GRID = "#bdbdbd"
AXIS_TEXT = "#555555"
WHITE = "#ffffff"


@dataclass(frozen=True)
class Paint:
    """A criterion's look: ``kind`` solid, hatch, back, cross, dots, hlines or vlines."""

    kind: str
    ground: str
    ink: str


@dataclass(frozen=True)
class Segment:
    """One criterion's part of a bar; ``label`` says whether its code fits on it."""

    x: float
    width: float
    paint: int
    code: str
    label: bool


@dataclass(frozen=True)
class Bar:
    """One option's row: its title above the bar (``title_y`` is the text's baseline), the
    bar from ``bar_y`` (``height`` tall, ``end`` long) and the total after it."""

    title: str
    total: str
    title_y: float
    bar_y: float
    end: float
    segments: Sequence[Segment] = field(default_factory=tuple)


@dataclass(frozen=True)
class StackedBars:
    """A figure: ``ticks`` are (x, label) on the 0–100 axis at the top; ``bar_height`` and
    the positions of the bars are in millimetres on a ``width`` × ``height`` page."""

    width: float
    height: float
    bar_height: float
    ticks: Sequence[tuple[float, str]]
    bars: Sequence[Bar]
    paints: Sequence[Paint]


@functools.cache
def _font(bold: bool, size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(BOLD if bold else REGULAR), size_px)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=6)
    return out.getvalue()


def _fill(image: Image.Image, box: tuple[int, int, int, int], paint: Paint, scale: float) -> None:
    """Fill ``box`` (pixels) with ``paint``: its ground, then its pattern in its ink."""
    x0, y0, x1, y1 = box
    width, height = x1 - x0, y1 - y0
    if width <= 0 or height <= 0:
        return
    tile = Image.new("RGB", (width, height), paint.ground)
    draw = ImageDraw.Draw(tile)
    line = max(1, round(0.45 * scale))
    if paint.kind in ("hatch", "back", "cross"):
        step = max(3, round(1.7 * scale * math.sqrt(2)))
        slopes = {"hatch": (1,), "back": (-1,), "cross": (1, -1)}[paint.kind]
        for slope in slopes:
            for start in range(-height - step, width + height + step, step):
                if slope == 1:  # "/": from the bottom left to the top right
                    draw.line([(start, height), (start + height, 0)], fill=paint.ink, width=line)
                else:  # "\": from the top left to the bottom right
                    draw.line([(start, 0), (start + height, height)], fill=paint.ink, width=line)
    elif paint.kind == "dots":
        step = max(3, round(1.5 * scale))
        radius = max(1.0, 0.36 * scale)
        for cy in range(step // 2, height + step, step):
            for cx in range(step // 2, width + step, step):
                draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=paint.ink)
    elif paint.kind == "hlines":
        step = max(3, round(1.4 * scale))
        for y in range(step // 4, height, step):
            draw.line([(0, y), (width, y)], fill=paint.ink, width=line)
    elif paint.kind == "vlines":
        step = max(3, round(1.4 * scale))
        for x in range(step // 4, width, step):
            draw.line([(x, 0), (x, height)], fill=paint.ink, width=line)
    image.paste(tile, (x0, y0))


def stacked_bars_png(chart: StackedBars, *, dpi: int = DPI) -> bytes:
    """The figure as a PNG at ``dpi``: totals by option, stacked by criterion."""
    scale = dpi / 25.4  # pixels per millimetre

    def px(mm: float) -> int:
        return round(mm * scale)

    image = Image.new("RGB", (px(chart.width), px(chart.height)), WHITE)
    draw = ImageDraw.Draw(image)
    thin = max(1, round(0.25 * scale))
    axis_font = _font(False, px(2.5))
    title_font = _font(True, px(2.9))
    code_font = _font(False, px(2.3))
    total_font = _font(True, px(3.1))
    last = len(chart.ticks) - 1
    for index, (x, label) in enumerate(chart.ticks):
        draw.line([(px(x), px(4.2)), (px(x), px(5.4))], fill=TICK, width=thin)
        for bar in chart.bars:
            draw.line(
                [(px(x), px(bar.bar_y - 0.3)), (px(x), px(bar.bar_y + chart.bar_height + 0.4))],
                fill=GRID,
                width=max(1, round(0.2 * scale)),
            )
        anchor = "ls" if index == 0 else ("rs" if index == last else "ms")
        draw.text((px(x), px(3.4)), label, font=axis_font, fill=AXIS_TEXT, anchor=anchor)
    for bar in chart.bars:
        draw.text((0, px(bar.title_y)), bar.title, font=title_font, fill=INK, anchor="ls")
        top, bottom = px(bar.bar_y), px(bar.bar_y + chart.bar_height)
        for seg in bar.segments:
            left, right = px(seg.x), px(seg.x + seg.width)
            _fill(image, (left, top, right, bottom), chart.paints[seg.paint], scale)
            if right - left > 2:  # a thin white edge between segments, as on paper
                draw.line([(right - 1, top), (right - 1, bottom)], fill=WHITE, width=1)
        if bar.end > 0:
            draw.rectangle([0, top, px(bar.end), bottom], outline=INK, width=thin)
        for seg in bar.segments:
            if not seg.label:
                continue
            middle = seg.x + seg.width / 2
            box = [px(middle - 2.9), px(bar.bar_y + 0.95), px(middle + 2.9), px(bar.bar_y + 4.25)]
            draw.rounded_rectangle(box, radius=px(0.5), fill=WHITE, outline=INK, width=1)
            draw.text(
                (px(middle), px(bar.bar_y + 3.45)), seg.code, font=code_font, fill=INK, anchor="ms"
            )
        draw.text(
            (px(bar.end + 1.6), px(bar.bar_y + 3.8)),
            bar.total,
            font=total_font,
            fill=INK,
            anchor="ls",
        )
    return _png(image)


def swatch_png(paint: Paint, *, width: float = 8.0, height: float = 4.0, dpi: int = DPI) -> bytes:
    """A legend's swatch of ``paint``, ``width`` × ``height`` millimetres, outlined."""
    scale = dpi / 25.4
    size = (round(width * scale), round(height * scale))
    image = Image.new("RGB", size, WHITE)
    inset = max(1, round(0.2 * scale))
    _fill(image, (inset, inset, size[0] - inset, size[1] - inset), paint, scale)
    ImageDraw.Draw(image).rectangle(
        [inset, inset, size[0] - inset - 1, size[1] - inset - 1], outline=INK, width=1
    )
    return _png(image)


def share_bar_png(
    share: float, *, width: float = 30.0, height: float = 3.0, dpi: int = DPI
) -> bytes:
    """A small bar filled to ``share`` (0–1) of its length: a probability beside its figure."""
    scale = dpi / 25.4
    size = (round(width * scale), round(height * scale))
    image = Image.new("RGB", size, "#ececec")
    filled = round(size[0] * min(max(share, 0.0), 1.0))
    if filled:
        ImageDraw.Draw(image).rectangle([0, 0, filled - 1, size[1] - 1], fill="#3a3a3a")
    return _png(image)
