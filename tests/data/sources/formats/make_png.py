"""Write assets/screenshot.png: a small, real, deterministic 16x16 RGB PNG.

The test suites attach this file by path, so every report format that carries
attachments references (or copies) the same bytes.
"""

import pathlib
import struct
import zlib

W = H = 16


def chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def main() -> None:
    rows = []
    for y in range(H):
        row = bytearray([0])  # filter type: none
        for x in range(W):
            # red cross on a pale blue field: recognisable when viewed
            if x in (7, 8) or y in (7, 8):
                row += bytes((220, 40, 40))
            else:
                row += bytes((200, 225, 250))
        rows.append(bytes(row))
    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
    png += chunk(b"IEND", b"")
    out = pathlib.Path(__file__).resolve().parent / "assets" / "screenshot.png"
    out.write_bytes(png)
    print(out)


if __name__ == "__main__":
    main()
