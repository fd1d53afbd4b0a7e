"""`newsletter preview` in a real headless browser (Debian's chromium, driven by Playwright)."""

from __future__ import annotations

import http.client
import json
import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from newsletter.preview.server import PreviewServer, dark_mode
from newsletter.workspace import find_workspace
from tests.conftest import EXAMPLE_ISSUE, PROJECT, example_workspace

CHROMIUM = os.environ.get("NEWSLETTER_CHROMIUM", "/usr/bin/chromium")
# Without the networking flags chromium stalls on a closed network.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = Path(os.environ.get("NEWSLETTER_TEST_ARTIFACTS", PROJECT / "test-artifacts"))
RELOAD_TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def browser() -> Browser:
    if not Path(CHROMIUM).is_file() and not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: `make test` installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def server(workspace: Path) -> PreviewServer:
    server = PreviewServer(find_workspace(workspace), EXAMPLE_ISSUE, port=0)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def unchanged_server(tmp_path_factory: pytest.TempPathFactory) -> PreviewServer:
    """One server for the tests that only read from it (a build takes 0.4 s)."""
    server = PreviewServer(find_workspace(example_workspace(tmp_path_factory.mktemp("preview") / "ws")),
                           EXAMPLE_ISSUE, port=0)
    server.start()
    yield server
    server.stop()


def open_preview(browser: Browser, server: PreviewServer, width: int = 1400) -> Page:
    page = browser.new_page(viewport={"width": width, "height": 1000})
    page.goto(server.url)
    page.wait_for_selector("body[data-version]")
    return page


def email_page(browser: Browser, server: PreviewServer, width: int, path: str = "email.html") -> Page:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(server.url + path)
    page.wait_for_load_state("load")
    return page


@pytest.mark.browser
def test_page_loads_with_inbox_row_and_findings(browser: Browser, server: PreviewServer) -> None:
    page = open_preview(browser, server)
    assert page.text_content("#gmail-row .subject") == "Winter pruning, leaf mould & a seed library"
    assert "Plus our December" in page.text_content("#apple-row .pre")
    assert "0 errors" in page.text_content("#finding-count")
    desktop = page.frame_locator("#desktop")
    assert "Hello Maya," in desktop.locator("body").inner_text()
    page.click("text=Plain text")  # views off screen load when shown
    page.wait_for_selector("#text:has-text('[1] https://northwind.example/blog/winter-pruning?')")
    page.click("text=Headers & MIME")
    page.wait_for_selector("#mime:has-text('multipart/alternative')")
    mime = page.text_content("#mime")
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in mime and "multipart/alternative" in mime


@pytest.mark.browser
@pytest.mark.parametrize("width", [375, 640])
def test_email_fits_the_width_and_is_screenshotted(browser: Browser, server: PreviewServer, width: int) -> None:
    page = email_page(browser, server, width)
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "horizontal scroll"
    images = page.evaluate("""() => [...document.images].map(i => ({
        right: i.getBoundingClientRect().right, loaded: i.complete && i.naturalWidth > 0, src: i.src }))""")
    assert images, "the example issue has a hero image"
    for image in images:
        assert image["loaded"], image["src"]
        assert image["right"] <= width, image
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"preview-{width}px.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


@pytest.mark.browser
def test_dark_mode_view_uses_the_themes_dark_colours(browser: Browser, server: PreviewServer) -> None:
    light = email_page(browser, server, 640).evaluate("getComputedStyle(document.querySelector('.nl-card')).backgroundColor")
    dark_page = email_page(browser, server, 640, "email-dark.html")
    dark = dark_page.evaluate("getComputedStyle(document.querySelector('.nl-card')).backgroundColor")
    assert light == "rgb(255, 255, 255)" and dark == "rgb(30, 30, 30)"
    dark_page.screenshot(path=str(ARTIFACTS / "preview-dark-640px.png"))


@pytest.mark.browser
def test_an_edit_shows_up_without_reloading(browser: Browser, server: PreviewServer, workspace: Path) -> None:
    page = open_preview(browser, server)
    issue = workspace / "issues" / EXAMPLE_ISSUE / "issue.md"
    issue.write_text(issue.read_text().replace("November is the month", "Frost is coming: November is the month"))
    page.frame_locator("#mobile").locator("text=Frost is coming").wait_for(timeout=RELOAD_TIMEOUT_MS)
    article = workspace / "issues" / EXAMPLE_ISSUE / "articles" / "compost.txt"
    article.write_text(article.read_text().replace('Leaves & "brown gold"', 'Leaves & "black gold"', 1))
    page.frame_locator("#desktop").locator("text=black gold").first.wait_for(timeout=RELOAD_TIMEOUT_MS)


@pytest.mark.browser
def test_build_error_shows_in_the_page_and_the_server_stays_up(browser: Browser, server: PreviewServer,
                                                               workspace: Path) -> None:
    page = open_preview(browser, server)
    issue = workspace / "issues" / EXAMPLE_ISSUE / "issue.md"
    good = issue.read_text()
    issue.write_text(good.replace("subject:", "subjet:", 1))
    page.wait_for_selector("#error:has-text('issue.md:')", timeout=RELOAD_TIMEOUT_MS)
    assert "unknown key 'subjet'" in page.text_content("#error")
    assert "Hello Maya," in page.frame_locator("#desktop").locator("body").inner_text(), "last good build stays"
    issue.write_text(good)
    page.wait_for_selector("#error", state="hidden", timeout=RELOAD_TIMEOUT_MS)


@pytest.mark.parametrize("path", ["/../newsletter.toml", "/%2e%2e/newsletter.toml", "/..%2fnewsletter.toml",
                                  "/images/../../newsletter.toml", "/images/%2e%2e%2fissue.md", "//etc/passwd",
                                  "/issues/2026-11-garden-notes/issue.md"])
def test_only_the_build_is_served(unchanged_server: PreviewServer, path: str) -> None:
    host, port = unchanged_server.httpd.server_address[:2]
    assert host == "127.0.0.1"
    connection = http.client.HTTPConnection(host, port, timeout=5)
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    assert response.status == 404
    assert b"[newsletter]" not in body and b"subject:" not in body


def test_dark_mode_unwraps_only_the_dark_media_rules() -> None:
    source = "<style>@media (prefers-color-scheme: dark) { .a { color: #fff } } @media (max-width: 480px) { .b {} }</style>"
    assert dark_mode(source) == "<style>@media all { .a { color: #fff } } @media (max-width: 480px) { .b {} }</style>"


def test_a_save_is_pushed_to_the_page_as_a_server_sent_event(server: PreviewServer, workspace: Path) -> None:
    host, port = server.httpd.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.request("GET", "/events")
    response = connection.getresponse()
    assert response.getheader("Content-Type") == "text/event-stream"
    first = json.loads(response.readline().decode().removeprefix("data: "))
    assert first["version"] == server.state.snapshot.version and response.readline() == b"\n"
    issue = workspace / "issues" / EXAMPLE_ISSUE / "issue.md"
    issue.write_text(issue.read_text().replace("November is the month", "Frost: November is the month"))
    # No request was made after the save: the file event rebuilt and the stream told us.
    pushed = json.loads(response.readline().decode().removeprefix("data: "))
    assert pushed["version"] == first["version"] + 1 and not pushed["error"]
    assert "Frost: November" in server.state.snapshot.html
    connection.close()


@pytest.mark.parametrize("host, status", [("127.0.0.1:{port}", 200), ("localhost:{port}", 200),
                                          ("attacker.example:{port}", 403), ("127.0.0.1", 403),
                                          ("localhost:1", 403), ("", 403)])
def test_only_a_local_host_header_is_answered(unchanged_server: PreviewServer, host: str, status: int) -> None:
    """DNS rebinding: a page whose name now points at 127.0.0.1 must not read the subscriber data."""
    address, port = unchanged_server.httpd.server_address[:2]
    connection = http.client.HTTPConnection(address, port, timeout=5)
    connection.putrequest("GET", "/message.eml", skip_host=True)
    if host:
        connection.putheader("Host", host.format(port=port))
    connection.endheaders()
    response = connection.getresponse()
    body = response.read()
    assert response.status == status
    assert (b"@" in body) == (status == 200)


def test_a_new_template_override_shows_without_restarting(workspace: Path) -> None:
    """A team adds templates/_shared/footer.mjml.j2 while the preview runs: the next rebuild uses it,
    though the packaged footer was compiled and remembered before the override existed."""
    from newsletter.preview.server import PreviewState

    state = PreviewState(find_workspace(workspace), EXAMPLE_ISSUE)
    assert "Our own footer" not in state.rebuild().html
    partial = workspace / "templates" / "_shared" / "footer.mjml.j2"
    partial.parent.mkdir(parents=True)
    partial.write_text("<mj-section><mj-column><mj-text>Our own footer</mj-text></mj-column></mj-section>\n")
    assert "Our own footer" in state.rebuild().html
    partial.unlink()  # and back to the packaged one when it goes
    assert "Our own footer" not in state.rebuild().html


@pytest.mark.browser
@pytest.mark.parametrize("width", [1400, 420])
def test_the_inbox_rows_keep_their_height_empty_and_filled(browser: Browser, server: PreviewServer,
                                                           width: int) -> None:
    def heights(page: Page) -> dict[str, float]:
        return {row: page.eval_on_selector(f"#{row}", "e => e.getBoundingClientRect().height")
                for row in ("gmail-row", "apple-row")}

    filled = open_preview(browser, server, width)
    assert filled.text_content("#gmail-row .subject") and filled.text_content("#apple-row .pre")
    before = browser.new_page(viewport={"width": width, "height": 1000})
    before.route("**/state.json", lambda route: route.abort())  # the rows as drawn before any build arrives
    before.route("**/events", lambda route: route.abort())
    before.goto(server.url)
    assert before.text_content("#gmail-row .subject") == ""
    empty, full = heights(before), heights(filled)
    assert empty == full, (empty, full)
    assert 40 <= full["gmail-row"] < 60  # one line under its label, not stretched to the Apple row
    assert 100 <= full["apple-row"] < 120  # sender, subject and two lines of preview
