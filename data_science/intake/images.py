"""Re-encoding uploaded images: pixels in, a clean thumbnail out, every metadata block gone.

Runs in a worker process (a decoder bug or a bomb costs a worker, never the server). Pillow
opens only the format the extension names; the size is checked from the header before any
pixel is decoded; the thumbnail is rebuilt from raw pixels, so EXIF (and GPS), XMP, ICC
profiles, PNG text chunks, JPEG comments and anything appended to the file are left behind.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from data_science.intake.validators import UploadRejected

PILLOW_FORMATS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP", "gif": "GIF"}
THUMBNAIL_SIDE = 1024
JPEG_QUALITY = 90
# Modes kept as they are; anything else (palette, CMYK, 16-bit, …) becomes RGB or RGBA.
PLAIN_MODES = {"RGB", "RGBA", "L", "LA"}

ImageFile.LOAD_TRUNCATED_IMAGES = False


def thumbnail_name(stored_name: str, extension: str) -> str:
    """JPEG stays JPEG; every other format is stored as PNG."""
    stem = stored_name.rsplit(".", 1)[0]
    return f"{stem}.jpg" if PILLOW_FORMATS[extension] == "JPEG" else f"{stem}.png"


def reencode_image(source: Path, target: Path, extension: str, max_pixels: int) -> dict[str, Any]:
    """Write a metadata-free thumbnail of `source` to `target`; describe both images."""
    expected = PILLOW_FORMATS[extension]
    Image.MAX_IMAGE_PIXELS = max_pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(source, formats=[expected]) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise UploadRejected(
                        413,
                        "image_too_large",
                        f"The image is {width} x {height} = {width * height:,} pixels; the "
                        f"limit is {max_pixels:,} (MAX_IMAGE_PIXELS).",
                    )
                image.load()
                oriented = ImageOps.exif_transpose(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise UploadRejected(
                413, "image_too_large", f"The image is too large to decode: {error}"
            ) from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
            raise UploadRejected(
                422, "unreadable_image", f"The image cannot be decoded: {error}"
            ) from None
    oriented.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    clean = _from_pixels(oriented, expected)
    output_format = "JPEG" if expected == "JPEG" else "PNG"
    options = {"quality": JPEG_QUALITY} if output_format == "JPEG" else {}
    clean.save(target, format=output_format, **options)
    return {
        "width": clean.width,
        "height": clean.height,
        "original_width": width,
        "original_height": height,
        "format": output_format.lower(),
    }


def _from_pixels(image: Image.Image, source_format: str) -> Image.Image:
    """A new image holding only the pixels: no `info`, no EXIF, no palette tricks."""
    if source_format == "JPEG" or image.mode not in PLAIN_MODES:
        has_alpha = "A" in image.getbands() or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha and source_format != "JPEG" else "RGB")
    return Image.frombytes(image.mode, image.size, image.tobytes())
