"""Draw the career-timeline figure for the Lei Jun demo book."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

WIDTH: int = 2400
HEIGHT: int = 1200
MARGIN_X: int = 250
AXIS_Y: int = HEIGHT // 2
INK: tuple[int, int, int] = (28, 28, 32)
MUTED: tuple[int, int, int] = (110, 110, 118)
PAPER: tuple[int, int, int] = (255, 255, 255)

FONT_DIR: Path = Path("/usr/share/fonts/truetype/dejavu")
SERIF: Path = FONT_DIR / "DejaVuSerif.ttf"
SERIF_BOLD: Path = FONT_DIR / "DejaVuSerif-Bold.ttf"

OUTPUT: Path = Path(__file__).resolve().parent.parent / "manuscript" / "images" / "timeline.png"


@dataclass(frozen=True)
class Milestone:
    """One dated event on the timeline."""

    year: int
    label: str


MILESTONES: tuple[Milestone, ...] = (
    Milestone(1969, "Born in Xiantao, Hubei"),
    Milestone(1991, "Graduates from Wuhan University"),
    Milestone(1992, "Joins Kingsoft"),
    Milestone(1998, "Becomes CEO of Kingsoft"),
    Milestone(2007, "Kingsoft listed; steps down"),
    Milestone(2010, "Founds Xiaomi"),
    Milestone(2011, "First Mi phone"),
    Milestone(2018, "Xiaomi listed in Hong Kong"),
    Milestone(2024, "SU7 car launched"),
)


def wrap(
    draw: ImageDraw.ImageDraw,
    text: str,
    font: ImageFont.FreeTypeFont,
    max_width: float,
) -> list[str]:
    """Greedily wrap *text* into lines no wider than *max_width* pixels."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}".strip()
        if current and draw.textlength(candidate, font=font) > max_width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def draw_timeline(path: Path = OUTPUT) -> Path:
    """Render the milestones as an evenly spaced horizontal timeline and save a 300 DPI PNG."""
    image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(image)
    year_font = ImageFont.truetype(str(SERIF_BOLD), 62)
    label_font = ImageFont.truetype(str(SERIF), 50)
    line_height = 62

    draw.line([(MARGIN_X - 130, AXIS_Y), (WIDTH - MARGIN_X + 130, AXIS_Y)], fill=INK, width=8)
    step = (WIDTH - 2 * MARGIN_X) / (len(MILESTONES) - 1)
    max_label_width = min(2 * step - 120, 420.0)

    for index, milestone in enumerate(MILESTONES):
        x = MARGIN_X + index * step
        above = index % 2 == 0
        stem_end = AXIS_Y - 170 if above else AXIS_Y + 170
        draw.line([(x, AXIS_Y), (x, stem_end)], fill=MUTED, width=4)
        radius = 17
        dot = [x - radius, AXIS_Y - radius, x + radius, AXIS_Y + radius]
        draw.ellipse(dot, fill=PAPER, outline=INK, width=7)

        lines = wrap(draw, milestone.label, label_font, max_label_width)
        block = [(str(milestone.year), year_font)] + [(line, label_font) for line in lines]
        heights = [76] + [line_height] * len(lines)
        total = sum(heights)
        y = stem_end - 18 - total if above else stem_end + 18
        for (text, font), height in zip(block, heights):
            width = draw.textlength(text, font=font)
            left = min(max(x - width / 2, 20), WIDTH - 20 - width)
            draw.text((left, y), text, font=font, fill=INK)
            y += height

    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, dpi=(300, 300))
    return path


if __name__ == "__main__":
    print(draw_timeline())
