"""The pixels of an email image: decoded, turned upright, shrunk, put in sRGB and re-encoded
with nothing but pixels (no EXIF, GPS, comments or ICC profile). See ``images`` for why."""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageCms, ImageOps, ImageSequence, UnidentifiedImageError

from newsletter.errors import SourceError

JPEG_QUALITY = 82
# A JPEG decoded at reduced scale keeps at least 3/4 of the width asked for (1.5 pixels per
# CSS pixel where 2 are asked for): sharp enough, and no resize is needed at all.
DRAFT_SHARE = 0.75
MAX_SOURCE_PIXELS = 80_000_000  # a larger "image" is a decompression bomb, not a photo
# An animation is decoded frame by frame at its full canvas: all frames together get the same
# budget, and no more frames than an email can sensibly play. Beyond either, the first frame is kept.
MAX_ANIMATION_PIXELS = MAX_SOURCE_PIXELS
MAX_FRAMES = 500
ORIENTATION = 0x0112
_SRGB = None


def convert(data: bytes, max_width: int, label: str) -> tuple[bytes, str, tuple[int, int]]:
    image = _open(data, label)
    source_format = image.format
    if source_format == "GIF" and getattr(image, "is_animated", False):
        if _animation_fits(image):
            return _animated_gif(image, max_width)
        image.seek(0)  # too many pixels across its frames: the first frame stands for it
    if source_format == "JPEG":
        _draft(image, max_width)
    image = ImageOps.exif_transpose(_shrink(image, max_width))
    image = _to_srgb(image)
    if _has_alpha(image) or _is_graphic(image, source_format):
        return _png(image), "png", image.size
    return _jpeg(image), "jpg", image.size


def _open(data: bytes, label: str) -> Image.Image:
    _register_heif()
    # Pillow only warns between MAX_IMAGE_PIXELS and twice that; the cap is enforced here, in one line.
    Image.MAX_IMAGE_PIXELS = MAX_SOURCE_PIXELS
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size  # reading the header is enough to reject non-images
    except Image.DecompressionBombError:
        raise SourceError(label, _too_many_pixels()) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise SourceError(label, "not an image Pillow can read (use JPEG, PNG, GIF, WEBP, AVIF or HEIC)") from None
    if width * height > MAX_SOURCE_PIXELS:
        raise SourceError(label, _too_many_pixels(width, height))
    return image


def _too_many_pixels(width: int = 0, height: int = 0) -> str:
    size = f"{width}×{height}, {width * height / 1e6:.0f} megapixels: " if width else ""
    return (f"too many pixels ({size}the limit is {MAX_SOURCE_PIXELS / 1e6:.0f} megapixels); "
            "shrink the picture or pick another")


def _animation_fits(image: Image.Image) -> bool:
    """Whether every frame, decoded at the full canvas, fits the pixel budget. Frames are counted
    by seeking (no pixels decoded), only as far as the budget allows."""
    canvas = image.width * image.height
    allowed = min(MAX_FRAMES, MAX_ANIMATION_PIXELS // max(canvas, 1))
    if allowed < 2:
        return False
    try:
        image.seek(allowed)  # a frame past the budget exists: too much
    except EOFError:
        return True
    except (OSError, ValueError, SyntaxError):
        return False
    return False


def _register_heif() -> None:
    """HEIC (iPhone photos) needs the pillow-heif plugin; without it such files are 'not an image'."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return
    register_heif_opener()


def _shown_width(image: Image.Image) -> int:
    """The width once the EXIF rotation is applied."""
    return image.height if image.getexif().get(ORIENTATION, 1) in (5, 6, 7, 8) else image.width


def _draft(image: Image.Image, max_width: int) -> None:
    """Let libjpeg decode at 1/2, 1/4 or 1/8 scale: far faster than decoding 12 MP and shrinking."""
    scale = max_width * DRAFT_SHARE / _shown_width(image)
    if scale < 1:
        mode = image.mode if image.mode != "CMYK" else None
        image.draft(mode, (int(image.width * scale) + 1, int(image.height * scale) + 1))


def _shrink(image: Image.Image, max_width: int) -> Image.Image:
    """Resized before the rotation is applied: turning the smaller picture is cheaper."""
    scale = max_width / _shown_width(image)
    if scale >= 1:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    # Bicubic after libjpeg's own halving looks the same as Lanczos at this scale, in half the time.
    return image.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)


def _to_srgb(image: Image.Image) -> Image.Image:
    """Colours as an ICC profile meant them, in the sRGB every client assumes; the profile is then dropped."""
    global _SRGB
    profile = image.info.get("icc_profile")
    if image.mode == "CMYK" and not profile:
        return image.convert("RGB")
    if profile and image.mode in ("RGB", "RGBA", "CMYK"):
        _SRGB = _SRGB or ImageCms.createProfile("sRGB")
        try:
            mode = "RGBA" if image.mode == "RGBA" else "RGB"
            return ImageCms.profileToProfile(image, io.BytesIO(profile), _SRGB, outputMode=mode)
        except (ImageCms.PyCMSError, OSError):
            pass  # a broken profile: keep the pixels as they are
    return image.convert("RGB") if image.mode == "CMYK" else image


def _has_alpha(image: Image.Image) -> bool:
    if image.mode in ("RGBA", "LA", "PA"):
        return image.getextrema()[-1][0] < 255
    return image.mode == "P" and "transparency" in image.info


def _is_graphic(image: Image.Image, source_format: str | None) -> bool:
    """Drawings, logos and charts (few colours, from a lossless file) stay sharp as PNG."""
    return source_format in ("PNG", "GIF", "BMP") and (image.mode == "P" or image.getcolors(256) is not None)


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
    return out.getvalue()


def _png(image: Image.Image) -> bytes:
    """Only pixels (and the palette's transparency) are written: no text chunks, EXIF or profile."""
    if image.mode not in ("RGBA", "RGB", "P", "L", "LA"):
        image = image.convert("RGBA")
    clean = image.copy()
    clean.info = {key: value for key, value in image.info.items() if key == "transparency"}
    out = io.BytesIO()
    clean.save(out, "PNG", optimize=True)
    return out.getvalue()


def _animated_gif(image: Image.Image, max_width: int) -> tuple[bytes, str, tuple[int, int]]:
    """An animation is kept as GIF (every client plays it, Outlook shows the first frame)."""
    size = image.size
    if image.width > max_width:
        size = (max_width, max(1, round(image.height * max_width / image.width)))
    # Each frame shrunk as it is read: only one full-size frame is ever in memory.
    frames = [frame.resize(size, Image.Resampling.LANCZOS) if frame.size != size else frame.copy()
              for frame in ImageSequence.Iterator(image)]
    for frame in frames:  # comments and XMP travel in info; only transparency is kept
        frame.info = {key: value for key, value in frame.info.items() if key == "transparency"}
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], loop=image.info.get("loop", 0),
                   duration=image.info.get("duration", 100), disposal=2)
    return out.getvalue(), "gif", size

