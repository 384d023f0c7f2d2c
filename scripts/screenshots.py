"""Screenshots of the built book's figure pages with headless Chromium, to check by eye
that each page shows its re-run command, its parameters table and legible panels.

    python scripts/screenshots.py [OUT]   # after `make book`; OUT: benchmarks/reports/screenshots

One image per figure page of the registry, the top HEIGHT pixels of the page at WIDTH,
saved as a JPEG SAVED_WIDTH wide (small enough to commit).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

from prelu_robust import pages, paths

WIDTH, HEIGHT, SAVED_WIDTH = 1280, 3000, 960
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def main(out: Path) -> None:
    browser = next((b for b in BROWSERS if shutil.which(b)), None)
    if browser is None:
        sys.exit(f"no headless browser found (one of {', '.join(BROWSERS)}): install chromium")
    html = paths.CHECKOUT / "_build" / "html"
    if not (html / "index.html").is_file():
        sys.exit(f"no built book at {html}: run `make book` first")
    out.mkdir(parents=True, exist_ok=True)
    for name, page in pages.load().notebook_pages().items():
        if not page.notebook.startswith("notebooks/"):
            continue  # figure pages only
        with tempfile.TemporaryDirectory() as scratch:
            shot = Path(scratch) / f"{name}.png"
            subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={shot}",
                            (html / pages.EXECUTED_DIR / f"{name}.html").as_uri()],
                           check=True, capture_output=True, timeout=120)
            image = Image.open(shot).convert("RGB")
        target = out / f"{name}.jpg"
        image.resize((SAVED_WIDTH, round(image.height * SAVED_WIDTH / image.width)), Image.LANCZOS).save(
            target, quality=60, optimize=True)
        print(target, flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else paths.REPORTS / "screenshots")
