#!/usr/bin/env python3
# Usage: scripts/gen_favicon.py web/favicon.ico (no dependencies; the output is committed).
# Draws kefu's 32x32 favicon (a white speech bubble with three dots on the widget's green,
# #2f6f5e) and writes it as an ICO holding one PNG.
import struct, zlib, sys
N = 32
G = (0x2f, 0x6f, 0x5e, 255); W = (255, 255, 255, 255); T = (0, 0, 0, 0)
def inside_round(x, y, x0, y0, x1, y1, r):
    cx = min(max(x, x0 + r), x1 - r); cy = min(max(y, y0 + r), y1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r
px = []
for y in range(N):
    row = []
    for x in range(N):
        fx, fy = x + 0.5, y + 0.5
        c = G if inside_round(fx, fy, 0, 0, 32, 32, 7) else T
        # the bubble and its tail
        if inside_round(fx, fy, 6, 7, 26, 21, 5) or (fy >= 20 and fy <= 26 and fx >= 9 and fx <= 9 + (26 - fy) * 0.9):
            c = W
        for dx in (11, 16, 21):
            if (fx - dx) ** 2 + (fy - 14) ** 2 <= 3.2:
                c = G
        row.append(c)
    px.append(row)
raw = b"".join(b"\x00" + bytes(v for p in row for v in p) for row in px)
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", N, N, 8, 6, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
ico = struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", N, N, 0, 0, 1, 32, len(png), 22) + png
open(sys.argv[1], "wb").write(ico)
print(len(ico), "bytes")
