"""How many words of blurb the digest theme's article card holds on a 375 px phone screen.

Builds the example issue (digest theme), opens its index.html in headless chromium at 375 x 667 CSS px
(an iPhone SE/8 viewport, the narrowest common one), and measures each article card: the blurb's text
width, its line height, the words per line the blurb actually gets, and the height of the card without
its blurb (picture, title, meta line, button). A card reads as one when it fits on one screen, so the
blurb gets the screen height less the rest of the card; the budget is that many lines times the words
per line.

    python benchmarks/blurb_budget.py
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("NEWSLETTER_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
WIDTH, HEIGHT = 375, 667
ISSUE = "2026-11-garden-notes"
MEASURE = """(summaries) => {
  const out = [];
  const all = [...document.querySelectorAll('div, img, a')];
  const before = (el, test) => { const i = all.indexOf(el); for (let j = i - 1; j >= 0; j--) if (test(all[j])) return all[j]; return null; };
  const after = (el, test) => { const i = all.indexOf(el); for (let j = i + 1; j < all.length; j++) if (test(all[j])) return all[j]; return null; };
  for (const el of document.querySelectorAll('div')) {
    const text = (el.innerText || '').trim();
    if (!summaries.includes(text) || el.querySelector('div')) continue;
    const style = getComputedStyle(el);
    const range = document.createRange(); range.selectNodeContents(el);
    const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top))).size;
    const box = el.getBoundingClientRect();
    const title = before(el, e => (e.className || '').toString().includes('article-title'));
    const button = after(el, e => e.tagName === 'A' && (e.closest('.nl-button') || (e.textContent || '').includes('Read the article')));
    const image = title && before(title, e => e.tagName === 'IMG');
    const top = image && title.getBoundingClientRect().top - image.getBoundingClientRect().bottom < 40
      ? image.getBoundingClientRect().top : (title ? title.getBoundingClientRect().top : box.top);
    const bottom = button ? button.getBoundingClientRect().bottom + 16 : box.bottom;
    out.push({words: text.split(/\\s+/).length, lines, width: box.width,
              lineHeight: parseFloat(style.lineHeight) || 1.5 * parseFloat(style.fontSize),
              height: box.height, card: bottom - top});
  }
  return out;
}"""


def main() -> int:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        workspace = Path(folder) / "ws"
        workspace.mkdir()
        shutil.copy(PROJECT / "newsletter.toml", workspace)
        shutil.copytree(PROJECT / "issues" / ISSUE, workspace / "issues" / ISSUE)
        newsletter = Path(sys.executable).with_name("newsletter")
        subprocess.run([str(newsletter), "build", ISSUE, "--out", "out"], cwd=workspace, check=True,
                       capture_output=True)
        built = json.loads((workspace / "out" / "issue.json").read_text(encoding="utf-8"))
        summaries = [section.get("summary", "").strip() for section in _sections(built) if section.get("summary")]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
            page.goto((workspace / "out" / "index.html").as_uri())
            cards = page.evaluate(MEASURE, summaries)
            browser.close()
    if not cards:
        print("no blurbs found in the built email")
        return 1
    per_line = statistics.fmean(c["words"] / c["lines"] for c in cards)
    rest = statistics.median(c["card"] - c["height"] for c in cards if c["card"])
    line_height = statistics.fmean(c["lineHeight"] for c in cards)
    lines = int((HEIGHT - rest) // line_height)
    print(f"{len(cards)} blurbs at {WIDTH} px: text {cards[0]['width']:.0f} px wide, {per_line:.1f} words a line, "
          f"line height {line_height:.0f} px; the card without its blurb {rest:.0f} px high")
    print(f"one screen ({HEIGHT} px) leaves {lines} lines for the blurb: about {lines * per_line:.0f} words")
    return 0


def _sections(built: dict) -> list[dict]:
    """The composed sections, wherever the issue JSON keeps them."""
    found = []

    def walk(value):
        if isinstance(value, dict):
            if "summary" in value:
                found.append(value)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
    walk(built)
    return found


if __name__ == "__main__":
    sys.exit(main())
