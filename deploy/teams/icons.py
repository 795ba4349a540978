"""Draw the Teams app icons with the standard library only (no binaries of unknown origin).

    python -m deploy.teams.icons [OUT_DIR]      # writes color.png (192x192) and outline.png (32x32)

color.png: an open white book with text lines on Connecticut blue, anti-aliased.
outline.png: the same book in pure white on a fully transparent background (alpha 0 or 255 only),
as Teams requires of outline icons.
"""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

BLUE = (0x0B, 0x4F, 0x8A)
GOLD = (0xF2, 0xB7, 0x05)
WHITE = (255, 255, 255)


def png_bytes(width: int, height: int, rgba: list[tuple[int, int, int, int]]) -> bytes:
    """Encode RGBA pixels (row-major) as an 8-bit RGBA PNG."""
    raw = bytearray()
    for y in range(height):
        raw.append(0)  # filter type: none
        for r, g, b, a in rgba[y * width:(y + 1) * width]:
            raw += bytes((r, g, b, a))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes(raw), 9))
            + chunk(b"IEND", b""))


def book(u: float, v: float, lines: bool) -> str | None:
    """What lies at (u, v) in the unit square: "page", "line", "spine" or None."""
    if not 0.14 <= u <= 0.86:
        return None
    d = abs(u - 0.5)
    top = 0.36 - 0.08 * (d / 0.36)      # pages rise towards their outer edges
    bottom = 0.74 - 0.06 * (d / 0.36)
    if not top <= v <= bottom:
        return None
    if d < 0.025:
        return "spine"
    if lines and 0.08 < d < 0.30:
        for k in range(5):
            line_v = top + 0.08 + k * 0.07
            if line_v + 0.025 < bottom and line_v <= v <= line_v + 0.025:
                return "line"
    return "page"


def color_icon(size: int = 192, samples: int = 4) -> bytes:
    pixels = []
    for y in range(size):
        for x in range(size):
            acc = [0, 0, 0]
            for sy in range(samples):
                for sx in range(samples):
                    u, v = (x + (sx + 0.5) / samples) / size, (y + (sy + 0.5) / samples) / size
                    what = book(u, v, lines=True)
                    c = WHITE if what == "page" else GOLD if what == "spine" else BLUE
                    for i in range(3):
                        acc[i] += c[i]
            n = samples * samples
            pixels.append((acc[0] // n, acc[1] // n, acc[2] // n, 255))
    return png_bytes(size, size, pixels)


def outline_icon(size: int = 32) -> bytes:
    pixels = []
    for y in range(size):
        for x in range(size):
            what = book((x + 0.5) / size, (y + 0.5) / size, lines=False)
            pixels.append((255, 255, 255, 255) if what == "page" else (255, 255, 255, 0))
    return png_bytes(size, size, pixels)


def write_icons(out_dir: str | Path) -> tuple[Path, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    color, outline = out / "color.png", out / "outline.png"
    color.write_bytes(color_icon())
    outline.write_bytes(outline_icon())
    return color, outline


if __name__ == "__main__":
    for path in write_icons(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "build"):
        print(path)
