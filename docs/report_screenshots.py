"""Screenshots of a report at desktop (1440 px) and phone (390 px) width, for docs/: headless Chromium.

    python docs/report_screenshots.py reports/<run>/report.html            # writes docs/report-desktop.png, -phone.png
    python docs/report_screenshots.py REPORT --out DIR --full-page          # whole page instead of the first screens

The README's pictures come from a default run: ``tinyemo-audit run --dataset faces --out /tmp/run`` then this script
on ``/tmp/run/report.html``. It uses the test suite's DevTools driver (tests/report/chromium_cdp.py).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "report"))

from chromium_cdp import find_chromium, open_report  # noqa: E402

# name, width, height of the first screen captured, whether to emulate a phone
VIEWS = (("desktop", 1440, 1400, False), ("phone", 390, 2400, True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    parser.add_argument("--full-page", action="store_true")
    args = parser.parse_args(argv)
    executable = find_chromium()
    if executable is None:
        print("report_screenshots: error: chromium not found (apt-get install -y chromium)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for name, width, height, mobile in VIEWS:
        with tempfile.TemporaryDirectory() as profile, \
                open_report(args.report, Path(profile), width=width, height=height, mobile=mobile,
                            executable=executable) as chrome:
            chrome.evaluate("window.scrollTo(0, 0)")
            target = args.out / f"report-{name}.png"
            chrome.screenshot(target, full_page=args.full_page)
            print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
