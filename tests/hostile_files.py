"""Files for the intake tests, built in code (stdlib and Pillow): hostile ones and good ones."""

import io
import struct
import zipfile
import zlib
from collections.abc import Iterator

from PIL import Image


def make_zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return buffer.getvalue()


def zip_with_info(info: zipfile.ZipInfo, data: bytes = b"a,b\n1,2\n") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(info, data)
    return buffer.getvalue()


def central_records(data: bytes) -> Iterator[int]:
    start = 0
    while (found := data.find(b"PK\x01\x02", start)) >= 0:
        yield found
        start = found + 4


def overlapping_zip() -> bytes:
    """Two central-directory entries that point at the same local header."""
    data = bytearray(make_zip({"a.csv": b"a,b\n1,2\n", "b.csv": b"a,b\n3,4\n"}, zipfile.ZIP_STORED))
    second = list(central_records(bytes(data)))[1]
    struct.pack_into("<L", data, second + 42, 0)
    return bytes(data)


def lying_zip() -> bytes:
    """A member whose headers declare 10 bytes but which expands to 200 kB."""
    data = bytearray(make_zip({"big.csv": b"a,b\n" + b"12345,67890\n" * 16_000}))
    for record in central_records(bytes(data)):
        struct.pack_into("<L", data, record + 24, 10)
    struct.pack_into("<L", data, 22, 10)
    return bytes(data)


def png(width: int, height: int, color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims an enormous size (a dimension bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


def jpeg_with_gps(width: int = 4000, height: int = 3000) -> bytes:
    image = Image.new("RGB", (width, height), (30, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90°
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (51.0, 30.0, 0.0), "W", (0.0, 7.0, 0.0)
    buffer = io.BytesIO()
    image.save(
        buffer, "JPEG", exif=exif, comment=b"secret comment", icc_profile=b"\0" * 128, quality=85
    )
    return buffer.getvalue()
