"""The controller's web dashboard: hand-written HTML, CSS and native ES modules, served as they are.

Why no build step: the files in `assets/` are what the browser runs, so `pip install skalds` ships a
working dashboard without Node.js, there is no committed bundle that could drift from its source, and
nothing needs rebuilding after an edit. The price is no JSX, no TypeScript and no npm packages; the
dashboard needs none (its chart is a small SVG drawn by `assets/js/chart.js`). Modern browsers load
ES modules natively; the few files are revalidated by ETag, so an upgrade is picked up at once.
"""

from __future__ import annotations

from pathlib import Path

DASHBOARD_DIR = Path(__file__).resolve().parent
ASSETS_DIR = DASHBOARD_DIR / "assets"
INDEX_HTML = DASHBOARD_DIR / "index.html"
