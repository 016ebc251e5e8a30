#!/usr/bin/env python3
"""Turns a `tmux capture-pane -e` of the VNC preview (half blocks in 24-bit colour) into a PNG:
each cell becomes two pixels (upper half = foreground, lower = background), scaled up.
Usage: ans2png.py IN.ans OUT.png [SCALE]. Standard library only."""
import re, struct, sys, zlib

def cells(text):
    rows = []
    for line in text.split("\n"):
        fg = bg = (0, 0, 0)
        row = []
        for m in re.finditer(r"\x1b\[([0-9;]*)m|([^\x1b])", line):
            if m.group(2) is not None:
                row.append((fg, bg) if m.group(2) == "\u2580" else (bg, bg))
                continue
            p = [int(x) if x else 0 for x in m.group(1).split(";")]
            i = 0
            while i < len(p):
                if p[i] in (38, 48) and i + 4 < len(p) and p[i + 1] == 2:
                    c = tuple(p[i + 2:i + 5])
                    fg, bg = (c, bg) if p[i] == 38 else (fg, c)
                    i += 5
                    continue
                if p[i] == 0:
                    fg = bg = (0, 0, 0)
                i += 1
        rows.append(row)
    return rows

def png(path, px, w, h):
    raw = b"".join(b"\0" + bytes(v for c in px[y * w:(y + 1) * w] for v in c) for y in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))

def main():
    src, dst = sys.argv[1], sys.argv[2]
    scale = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    # Skip the title and hint lines: only rows made of half blocks are picture.
    rows = [r for r in cells(open(src, encoding="utf-8").read()) if len(r) > 0]
    rows = rows[1:-1]
    w = max(len(r) for r in rows)
    px = []
    for r in rows:
        r = r + [((0, 0, 0), (0, 0, 0))] * (w - len(r))
        for half in (0, 1):
            line = [c[half] for c in r for _ in range(scale)]
            px.extend(line * scale)
    png(dst, px, w * scale, len(rows) * 2 * scale)

main()
