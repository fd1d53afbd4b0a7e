"""The image pipeline on real files made here with Pillow: size, format, orientation, metadata."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from newsletter.render.images import prepare_image
from tests.conftest import write_issue

RED, BLUE = (220, 20, 20), (20, 20, 220)
GPS_IFD, ORIENTATION = 0x8825, 0x0112


def phone_photo(width: int = 4000, height: int = 3000, orientation: int = 6) -> bytes:
    """A photo as a phone stores it: landscape pixels, a rotation tag, a GPS position, noise."""
    image = Image.effect_noise((width, height), 60).convert("RGB")
    image.paste(BLUE, (0, 0, width, height // 2))
    image.paste(RED, (0, 0, width // 8, height // 8))  # marks the stored top-left corner
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (53.0, 48.0, 30.0), 3: "W", 4: (1.0, 33.0, 10.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


def opened(path: Path) -> Image.Image:
    image = Image.open(path)
    image.load()
    return image


def assert_no_metadata(image: Image.Image) -> None:
    assert not image.getexif(), dict(image.getexif())
    assert not image.getexif().get_ifd(GPS_IFD)
    leftover = set(image.info) - {"jfif", "jfif_version", "jfif_unit", "jfif_density", "dpi", "progressive",
                                  "progression", "transparency", "adobe", "adobe_transform"}
    assert not leftover, leftover  # no exif, icc_profile, xmp, comments, text chunks


def near(pixel: tuple, colour: tuple, tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], colour))


@pytest.mark.slow
def test_phone_photo_is_rotated_resized_and_stripped(tmp_path: Path) -> None:
    source = phone_photo()
    assert Image.open(io.BytesIO(source)).getexif().get_ifd(GPS_IFD)  # the test photo really carries GPS
    result = prepare_image(source, 552, tmp_path, "photo.jpg")
    image = opened(result.path)
    assert image.format == "JPEG" and result.media_type == "image/jpeg"
    # Orientation 6: shown turned a quarter clockwise, so portrait, twice the 552 px display width.
    assert image.size == (1104, 1472) == (result.width, result.height)
    assert (result.display_width, result.display_height) == (552, 736)
    assert near(image.getpixel((1104 - 20, 20)), RED)  # the stored top-left is now top-right
    assert near(image.getpixel((1104 - 20, 1400)), BLUE)  # the stored top half is now the right half
    assert_no_metadata(image)
    assert result.size < 400 * 1024 < len(source)
    assert re.fullmatch(r"[0-9a-f]{20}\.jpg", result.name)


def test_webp_becomes_jpeg(tmp_path: Path) -> None:
    out = io.BytesIO()
    Image.effect_noise((800, 600), 50).convert("RGB").save(out, "WEBP", quality=90)
    result = prepare_image(out.getvalue(), 552, tmp_path, "photo.webp")
    image = opened(result.path)
    assert image.format == "JPEG" and image.size == (800, 600)
    assert (result.display_width, result.display_height) == (552, 414)
    assert_no_metadata(image)


def test_transparent_png_stays_png_with_alpha_and_no_text(tmp_path: Path) -> None:
    logo = Image.new("RGBA", (1600, 400), (0, 0, 0, 0))
    logo.paste((47, 107, 58, 255), (100, 100, 700, 300))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Someone private")
    out = io.BytesIO()
    logo.save(out, "PNG", pnginfo=info)
    assert "Author" in Image.open(io.BytesIO(out.getvalue())).info
    result = prepare_image(out.getvalue(), 300, tmp_path, "logo.png")
    image = opened(result.path)
    assert image.format == "PNG" and image.size == (600, 150)
    assert image.convert("RGBA").getpixel((5, 5))[3] == 0  # still transparent
    assert image.convert("RGBA").getpixel((100, 50))[3] == 255
    assert_no_metadata(image)


def test_small_image_is_shown_at_its_own_size(tmp_path: Path) -> None:
    out = io.BytesIO()
    Image.new("RGB", (200, 100), RED).save(out, "PNG")
    result = prepare_image(out.getvalue(), 552, tmp_path, "dot.png")
    assert (result.width, result.display_width, result.display_height) == (200, 200, 100)
    assert opened(result.path).format == "PNG"  # a flat graphic stays lossless


def test_cmyk_jpeg_becomes_rgb_with_its_colours(tmp_path: Path) -> None:
    out = io.BytesIO()
    Image.new("CMYK", (1200, 800), (0, 255, 255, 0)).save(out, "JPEG", quality=95)  # pure red in CMYK
    result = prepare_image(out.getvalue(), 552, tmp_path, "print.jpg")
    image = opened(result.path)
    assert image.mode == "RGB" and image.format == "JPEG" and image.size == (1104, 736)
    assert near(image.getpixel((500, 400)), (255, 0, 0), tolerance=60)
    assert_no_metadata(image)


def test_avif_and_not_an_image(tmp_path: Path) -> None:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), BLUE).save(out, "AVIF")
    assert opened(prepare_image(out.getvalue(), 552, tmp_path, "a.avif").path).format in ("PNG", "JPEG")
    from newsletter.errors import SourceError

    with pytest.raises(SourceError, match="not an image"):
        prepare_image(b"<html>not a picture</html>", 552, tmp_path, "fake.jpg")


def test_same_source_same_name_and_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from newsletter.render import pixels

    source = phone_photo(2000, 1500, orientation=1)
    first = prepare_image(source, 552, tmp_path / "a", "p.jpg")
    again = prepare_image(source, 552, tmp_path / "b", "p.jpg")  # another workspace: same bytes, same name
    assert first.name == again.name and first.path.read_bytes() == again.path.read_bytes()
    conversions = []
    real = pixels.convert
    monkeypatch.setattr(pixels, "convert", lambda *args, **kw: conversions.append(args) or real(*args, **kw))
    cached = prepare_image(source, 552, tmp_path / "a", "p.jpg")
    assert conversions == [], "a cached image is not decoded again"
    assert cached == first
    smaller = prepare_image(source, 300, tmp_path / "a", "p.jpg")  # settings are part of the key
    assert smaller.name != first.name and 450 <= smaller.width <= 600  # 1.5-2 times the display width


def photo_issue(root: Path, archive_url: str = "", image_line: str = "image: images/garden.jpg") -> Path:
    root.mkdir(exist_ok=True)
    (root / "newsletter.toml").write_text(
        f'[newsletter]\nname = "Plot Notes"\narchive_url = "{archive_url}"\npostal_address = "1 Lane, Leeds"\n'
        'unsubscribe_url = "https://example.org/u?e={{email}}"\n', encoding="utf-8")
    folder = root / "issues" / "2026-12"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "garden.jpg").write_bytes(phone_photo())
    shutil.copy(Path(__file__).parent.parent / "issues" / "2026-11-garden-notes" / "articles" / "compost.txt",
                folder / "compost.txt")
    return write_issue(folder, f"""
subject: "Plot Notes for December"
preheader: "Leaf mould, and what to do with a heap of leaves"
sections:
  - title: News
    articles:
      - source: compost.txt
        url: https://example.org/compost
        {image_line}
        image_alt: "A garden in autumn"
""")


def test_build_links_processed_image_with_pixel_size(tmp_path: Path, monkeypatch, cli) -> None:
    root = tmp_path / "ws"
    photo_issue(root, archive_url="https://news.example.org/{slug}/")
    monkeypatch.chdir(root)
    result = cli("build", "2026-12", "--json")
    assert result.code == 0, result.err
    html = (root / "build" / "2026-12" / "index.html").read_text()
    tag = re.search(r"<img[^>]*>", html).group(0)
    name = re.search(r'src="images/([0-9a-f]{20}\.jpg)"', tag).group(1)  # beside the page: opens from disk
    assert 'width="552"' in tag and 'height="736"' in tag and "max-width:100%" in tag
    assert opened(root / "build" / "2026-12" / "images" / name).size == (1104, 1472)
    assert len(list((root / "build" / "2026-12" / "images").iterdir())) == 1

    from newsletter.render.build import build_issue
    from newsletter.workspace import find_workspace

    sent = build_issue(find_workspace(root), "2026-12").rendered.html  # what a send puts in the email
    assert f'src="https://news.example.org/2026-12/images/{name}"' in sent
    check = cli("check", "2026-12", "--json")
    assert "relative-image-url" not in check.out


def test_check_errors_on_relative_image_without_archive(tmp_path: Path, monkeypatch, cli) -> None:
    root = tmp_path / "ws"
    photo_issue(root)
    monkeypatch.chdir(root)
    result = cli("check", "2026-12")
    assert result.code == 1
    assert re.search(r"error relative-image-url: image images/[0-9a-f]{20}\.jpg has a relative address", result.out)


def test_missing_alt_is_a_warning_and_image_none_turns_it_off(tmp_path: Path, monkeypatch, cli) -> None:
    root = tmp_path / "ws"
    issue = photo_issue(root, archive_url="https://news.example.org/{slug}/")
    issue.write_text(issue.read_text().replace('        image_alt: "A garden in autumn"\n', ""))
    monkeypatch.chdir(root)
    assert re.search(r"issue.md:\d+: warning image-alt-missing", cli("check", "2026-12").out)
    issue.write_text(issue.read_text().replace("image: images/garden.jpg", "image: none"))
    assert cli("build", "2026-12").code == 0
    assert "<img" not in (root / "build" / "2026-12" / "index.html").read_text()


PAGE = """<!doctype html><html lang="en"><head><title>Hedgehog houses | Plot Notes</title>
<meta property="og:title" content="Hedgehog houses">
<meta property="og:image" content="/media/hedgehog.webp">
<meta property="og:image:alt" content="A hedgehog in a wooden box">
<meta name="description" content="How to build a hedgehog house from offcuts.">
</head><body><article><h1>Hedgehog houses</h1>
<p>Hedgehogs need somewhere dry to sleep through the winter, and a simple box of offcuts will do.</p>
<p>Put the box in a quiet corner under a hedge, with the entrance facing away from the wind.</p>
<p>Add a handful of dry leaves and leave it alone until spring comes round again.</p>
</article></body></html>"""


def test_page_picture_is_downloaded_processed_and_cached(site: Path, web, cli) -> None:
    out = io.BytesIO()
    Image.linear_gradient("L").resize((1600, 1200)).convert("RGB").save(out, "WEBP")  # under max_bytes
    web.page("/media/hedgehog.webp", out.getvalue(), "image/webp")
    page = web.page("/hedgehogs", PAGE, "text/html; charset=utf-8")
    issue = write_issue(site / "issues" / "2026-12", f"""
subject: "Hedgehogs"
sections:
  - title: News
    articles:
      - source: {page}
""")
    built = cli("build", "2026-12")
    assert built.code == 0 and not built.err, built.err
    html = (site / "build" / "2026-12" / "index.html").read_text()
    tag = re.search(r"<img[^>]*>", html).group(0)
    assert 'alt="A hedgehog in a wooden box"' in tag and 'width="552"' in tag
    name = re.search(r'src="images/([0-9a-f]{20}\.jpg)"', tag).group(1)  # WEBP became JPEG
    assert opened(site / "build" / "2026-12" / "images" / name).size == (1104, 828)
    web.stop()  # a rebuild reads the page and its picture from the cache
    assert cli("build", "2026-12").code == 0
    assert name in (site / "build" / "2026-12" / "index.html").read_text()

    issue.write_text(issue.read_text().replace(f"      - source: {page}\n", f"      - source: {page}\n        image: none\n"))
    assert cli("build", "2026-12").code == 0
    assert "<img" not in (site / "build" / "2026-12" / "index.html").read_text()


def test_page_picture_that_fails_is_left_out_with_a_warning(site: Path, web, cli) -> None:
    page = web.page("/hedgehogs", PAGE, "text/html; charset=utf-8")  # its picture is a 404
    write_issue(site / "issues" / "2026-12", f'subject: "Hedgehogs"\nsections:\n  - title: News\n    articles:\n'
                f"      - source: {page}\n")
    result = cli("build", "2026-12")
    assert result.code == 0
    assert re.search(r"warning: issues/2026-12/issue.md:6: image http://\S+/media/hedgehog.webp: HTTP 404 Not Found "
                     r"\(the article's own picture is left out\)", result.err)
    assert "<img" not in (site / "build" / "2026-12" / "index.html").read_text()


@pytest.mark.slow
def test_heavy_images_are_warned_about(tmp_path: Path, monkeypatch, cli) -> None:
    root = tmp_path / "ws"
    issue = photo_issue(root, archive_url="https://news.example.org/{slug}/", image_line="image: images/noise.png")
    noise = Image.merge("RGBA", [Image.effect_noise((800, 600), 90)] * 3 + [Image.new("L", (800, 600), 200)])
    noise.save(issue.parent / "images" / "noise.png")  # transparent, so it stays a (heavy) PNG
    monkeypatch.chdir(root)
    out = cli("check", "2026-12").out
    assert re.search(r"issue.md:\d+: warning image-heavy: image images/noise.png is \d+ KB after processing "
                     r"\(budget 200 KB\)", out), out
    assert re.search(r"warning images-heavy: the images weigh \d+ KB together \(budget 1024 KB\)", out)


def test_animated_gif_stays_animated(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (1400, 700), colour) for colour in (RED, BLUE, (20, 200, 20))]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=120, loop=0, comment=b"private")
    image = opened(prepare_image(out.getvalue(), 552, tmp_path, "anim.gif").path)
    assert image.format == "GIF" and image.size == (1104, 552) and image.n_frames == 3
    assert "comment" not in image.info


@pytest.mark.slow
def test_the_brand_logo_goes_through_the_pipeline_too(tmp_path: Path, monkeypatch, cli) -> None:
    root = tmp_path / "ws"
    photo_issue(root, archive_url="https://news.example.org/{slug}/")
    logo = Image.new("RGBA", (1600, 400), (0, 0, 0, 0))
    logo.paste((47, 107, 58, 255), (100, 100, 1500, 300))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "the agency")
    logo.save(root / "logo.png", pnginfo=info)
    settings = root / "newsletter.toml"
    settings.write_text(settings.read_text() + '\n[brand]\nlogo = "logo.png"\nlogo_width = 160\n')
    monkeypatch.chdir(root)
    assert cli("build", "2026-12").code == 0
    html = (root / "build" / "2026-12" / "index.html").read_text()
    tag = next(t for t in re.findall(r"<img[^>]*>", html) if 'alt="Plot Notes"' in t)
    name = re.search(r'src="images/([0-9a-f]{20}\.png)"', tag).group(1)
    assert 'width="160"' in tag and 'height="40"' in tag
    processed = opened(root / "build" / "2026-12" / "images" / name)
    assert processed.size == (320, 80) and processed.mode == "RGBA"  # twice the width shown, transparency kept
    assert "Author" not in processed.info
    # A logo outside the workspace is refused at its line in newsletter.toml.
    outside = tmp_path / "elsewhere.png"
    shutil.copy(root / "logo.png", outside)
    settings.write_text(settings.read_text().replace('logo = "logo.png"', f'logo = "{outside}"'))
    result = cli("build", "2026-12")
    line = next(n for n, text in enumerate(settings.read_text().splitlines(), 1) if text.startswith("logo ="))
    assert result.code == 2 and f"newsletter.toml:{line}: brand.logo" in result.err
