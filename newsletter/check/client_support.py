"""Which email clients support which HTML and CSS features: a compact table of caniemail facts.

The package ships ``check/client_support.json``, derived from caniemail's data.json
(MIT licence, © 2019 Rémi Parmentier) by this module:

    python -m newsletter.check.client_support PATH/TO/caniemail/data.json

A workspace may point ``[check] caniemail`` at a newer data.json; it is derived the same way
at run time.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
from pathlib import Path

PACKAGED_TABLE = Path(__file__).parent / "client_support.json"

# The clients that matter for a newsletter: (family, platform) -> display name.
MAJOR_CLIENTS = {
    ("gmail", "desktop-webmail"): "Gmail (webmail)",
    ("gmail", "ios"): "Gmail (iOS)",
    ("gmail", "android"): "Gmail (Android)",
    ("apple-mail", "macos"): "Apple Mail (macOS)",
    ("apple-mail", "ios"): "Apple Mail (iOS)",
    ("outlook", "windows"): "Outlook (Windows)",
    ("outlook", "outlook-com"): "Outlook.com",
    ("outlook", "macos"): "Outlook (macOS)",
    ("outlook", "ios"): "Outlook (iOS)",
    ("outlook", "android"): "Outlook (Android)",
    ("yahoo", "desktop-webmail"): "Yahoo Mail (webmail)",
}
CATEGORIES = {"css", "html", "image"}


def _version_key(version: str) -> tuple:
    return tuple(int(part) for part in re.findall(r"\d+", version)) or (0,)


def _latest(results: dict[str, str]) -> str:
    """The newest test result's verdict: y (yes), a (partial), n (no) or u (unknown)."""
    version = max(results, key=_version_key)
    return results[version].strip()[:1] or "u"


def derive_table(caniemail: dict) -> dict:
    """Keep, per feature, the major clients whose latest result is "no" or "partial"."""
    features = {}
    for item in caniemail["data"]:
        if item["category"] not in CATEGORIES:
            continue
        verdicts = {"n": [], "a": []}
        for (family, platform), name in MAJOR_CLIENTS.items():
            results = item["stats"].get(family, {}).get(platform)
            if results:
                verdict = _latest(results)
                if verdict in verdicts:
                    verdicts[verdict].append(name)
        if verdicts["n"] or verdicts["a"]:
            features[item["slug"]] = {"title": item["title"], "unsupported": verdicts["n"], "partial": verdicts["a"]}
    return {
        "source": "caniemail.com data.json (MIT licence, (c) 2019 Remi Parmentier); latest result per major client",
        "features": features,
    }


@functools.lru_cache(maxsize=4)
def load_table(caniemail_path: str | None = None) -> dict:
    if caniemail_path:
        return derive_table(json.loads(Path(caniemail_path).read_text(encoding="utf-8")))
    return json.loads(PACKAGED_TABLE.read_text(encoding="utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description="Derive the packaged client-support table from caniemail data.json")
    parser.add_argument("data_json", type=Path)
    parser.add_argument("--out", type=Path, default=PACKAGED_TABLE)
    args = parser.parse_args()
    table = derive_table(json.loads(args.data_json.read_text(encoding="utf-8")))
    args.out.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {len(table['features'])} features")


if __name__ == "__main__":
    main()
