"""Time the image pipeline: an issue of 20 articles, each with a 2-5 MB phone photo.

The photos are generated: 4032×3024 JPEGs of noise over a gradient (which JPEG cannot
shrink much), half of them tagged as taken upright (EXIF orientation 6), each with GPS.
Three builds of the same issue are timed: without images (the baseline), with images and
an empty cache (every photo decoded, resized, re-encoded) and again (the cache answers).

    python benchmarks/images.py [--photos 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build import PROJECT, page_dump, sentence_pool  # noqa: E402 (the sibling benchmark's generators)

COLD_TARGET, WARM_EXTRA_TARGET = 5.0, 0.2  # seconds


def phone_photos(count: int, rng: random.Random) -> list[bytes]:
    from PIL import Image

    base = Image.blend(Image.linear_gradient("L").resize((4032, 3024)).convert("RGB"),
                       Image.effect_noise((4032, 3024), 30).convert("RGB"), 0.5)
    photos = []
    for index in range(count):
        photo = base.copy()
        x, y = rng.randrange(3000), rng.randrange(2000)
        photo.paste((rng.randrange(256), rng.randrange(256), rng.randrange(256)), (x, y, x + 900, y + 900))
        exif = Image.Exif()
        exif[0x0112] = 6 if index % 2 else 1
        exif.get_ifd(0x8825).update({1: "N", 2: (53.0, 48.0, float(index)), 3: "W", 4: (1.0, 33.0, 10.0)})
        out = io.BytesIO()
        photo.save(out, "JPEG", quality=rng.choice((80, 84, 88)), exif=exif)
        photos.append(out.getvalue())
    return photos


def make_workspace(root: Path, photos: list[bytes]) -> tuple[Path, str, str]:
    """The issue file with images and without; returns its path and both texts."""
    (root / "newsletter.toml").write_text((PROJECT / "newsletter.toml").read_text())
    folder = root / "issues" / "2026-12"
    (folder / "articles").mkdir(parents=True)
    (folder / "images").mkdir()
    rng, words = random.Random(2026), sentence_pool()
    listed = []
    for index, photo in enumerate(photos):
        (folder / "articles" / f"a{index}.txt").write_text(page_dump(rng, words, index))
        (folder / "images" / f"p{index}.jpg").write_bytes(photo)
        listed.append(f"      - source: articles/a{index}.txt\n        image: images/p{index}.jpg\n"
                      f"        image_alt: Photo {index}\n")
    head = "---\nsubject: Photos\ndate: 2026-12-01\nsections:\n  - title: All\n    articles:\n"
    with_images = head + "".join(listed) + "---\nHello.\n"
    without = "\n".join(line for line in with_images.splitlines() if "image" not in line) + "\n"
    return folder / "issue.md", with_images, without


def timed(workspace, issue: Path, cpu: list[float] | None = None) -> float:
    """Wall time of one build; its CPU time (all threads) is appended to ``cpu``."""
    from newsletter.render.build import build_issue

    started, started_cpu = time.perf_counter(), time.process_time()
    build_issue(workspace, issue)
    if cpu is not None:
        cpu.append(time.process_time() - started_cpu)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from newsletter.workspace import find_workspace

    photos = phone_photos(args.photos, random.Random(7))
    sizes = sorted(len(photo) / 1e6 for photo in photos)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        issue, with_images, without = make_workspace(root, photos)
        workspace = find_workspace(root)
        issue.write_text(without)
        timed(workspace, issue)  # warm the imports and the article cache
        base_cpu, cold_cpu, warm_cpu, baselines, warms = [], [], [], [], []
        issue.write_text(with_images)
        cold = timed(workspace, issue, cold_cpu)
        for _ in range(args.repeat):  # interleaved, so a busy machine slows both alike
            issue.write_text(without)
            baselines.append(timed(workspace, issue, base_cpu))
            issue.write_text(with_images)
            warms.append(timed(workspace, issue, warm_cpu))
        baseline, warm = statistics.median(baselines), statistics.median(warms)
        out = sum(path.stat().st_size for path in (root / ".cache" / "images").glob("*.jpg")) / 1e6
    print(f"{args.photos} photos of {sizes[0]:.1f}-{sizes[-1]:.1f} MB ({sum(sizes):.0f} MB) -> {out:.1f} MB in the email")
    print(f"build without images      {baseline * 1000:7.0f} ms")
    print(f"build, empty image cache  {cold * 1000:7.0f} ms   images: {(cold - baseline):.2f} s "
          f"(target < {COLD_TARGET:g} s): {'met' if cold - baseline < COLD_TARGET else 'MISSED'}; "
          f"CPU {cold_cpu[0] - statistics.median(base_cpu):.2f} s on {os.cpu_count()} cores")
    print(f"build, cached images      {warm * 1000:7.0f} ms   extra: {(warm - baseline) * 1000:.0f} ms "
          f"(target < {WARM_EXTRA_TARGET * 1000:.0f} ms): {'met' if warm - baseline < WARM_EXTRA_TARGET else 'MISSED'}; "
          f"CPU {(statistics.median(warm_cpu) - statistics.median(base_cpu)) * 1000:.0f} ms")
    sys.exit(0 if cold - baseline < COLD_TARGET and warm - baseline < WARM_EXTRA_TARGET else 1)


if __name__ == "__main__":
    main()
