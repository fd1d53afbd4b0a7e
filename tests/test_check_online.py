"""`newsletter check --online` against a loopback HTTP server: broken links, redirects, a fake image."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

from PIL import Image

from newsletter.render.build import build_issue
from newsletter.workspace import find_workspace
from tests.conftest import PROJECT, write_issue
from tests.http_server import WebServer

ARTICLES = PROJECT / "issues" / "2026-11-garden-notes" / "articles"


def png(size: tuple[int, int] = (300, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (40, 120, 60)).save(out, "PNG")
    return out.getvalue()


def online_issue(root: Path, web: WebServer) -> str:
    """Three articles whose links answer 200, 404 and a redirect to another host; returns the image path."""
    settings = root / "newsletter.toml"
    settings.write_text(settings.read_text().replace('name = "Plot Notes"', f'''name = "Plot Notes"
website = "{web.url('/home')}"
archive_url = "{web.url('/site/{slug}/')}"
postal_address = "1 Lane, Leeds"
unsubscribe_url = "https://example.org/u?e={{{{email}}}}"''').replace(
        'allow_private_hosts = ["127.0.0.1"]', 'allow_private_hosts = ["127.0.0.1", "localhost"]'))
    folder = root / "issues" / "2026-12"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "plot.png").write_bytes(png())
    for name in ("compost.txt", "seed-library.txt", "volunteer-day.txt"):
        shutil.copy(ARTICLES / name, folder / name)
    port = web.url("/").split(":")[-1].rstrip("/")
    write_issue(folder, f"""
subject: "Plot Notes for December"
sections:
  - title: News
    articles:
      - source: compost.txt
        title: Compost that works
        url: {web.url('/ok')}
        image: images/plot.png
        image_alt: "A plot"
      - source: seed-library.txt
        title: The seed library
        url: {web.url('/gone')}
      - source: volunteer-day.txt
        title: Volunteer day
        url: {web.url('/moved')}
""")
    for path in ("/ok", "/home", "/site/2026-12/"):
        web.page(path, "<html><body>fine</body></html>", "text/html")
    web.redirect("/moved", f"http://localhost:{port}/ok")
    return port


def test_online_check_finds_broken_links_redirects_and_fake_images(site: Path, web: WebServer, cli) -> None:
    online_issue(site, web)
    build = build_issue(find_workspace(site), "2026-12")
    image_path = "/site/2026-12/" + build.assets.target("images/plot.png")
    web.page(image_path, "<html>Sorry, this page moved</html>", "image/png")  # claims to be an image

    result = cli("check", "2026-12", "--online", "--json")
    findings = json.loads(result.out)["findings"]
    by_code = {}
    for finding in findings:
        by_code.setdefault(finding["code"], []).append(finding["message"])
    assert result.code == 1
    assert any("/gone" in m and "(The seed library): HTTP 404" in m for m in by_code["broken-link"])
    assert any("/moved" in m and "(Volunteer day) redirects to another host: http://localhost:" in m
               for m in by_code["redirected-link"])
    assert any(image_path in m and "(Compost that works) is not an image" in m for m in by_code["not-an-image"])
    online = ("broken-link", "broken-image", "redirected-link", "redirected-image", "not-an-image")
    every = " ".join(m for code in online for m in by_code.get(code, []))
    assert "/ok?" not in every and "/home" not in every  # working links are not findings
    assert web.hits["/gone"] >= 1 and web.hits["/ok"] >= 1

    web.page(image_path, png(), "image/png")  # the real picture published: no image finding left
    findings = json.loads(cli("check", "2026-12", "--online", "--json").out)["findings"]
    assert not [f for f in findings if f["code"] in ("not-an-image", "broken-image")]


def test_offline_check_requests_nothing(site: Path, web: WebServer, cli) -> None:
    online_issue(site, web)
    cli("check", "2026-12")
    assert web.hits["/gone"] == 0 and web.hits["/ok"] == 0
