"""Screenshots of the member portal's main pages at a phone's width (390 px), for docs/portal/.

Drives Debian's chromium (/usr/bin/chromium, never a downloaded browser) with Playwright against a
running demo (`make run`, DEBUG on: the code page shows the sign-in code, as the demo has no SMS
gateway), signs in as a demo member and saves one PNG per page (palette-reduced with Pillow to keep
the files small). Chinese text needs a CJK font in the system: Debian's `fonts-wqy-microhei`
(`apt-get install -y fonts-wqy-microhei`); without it the zh-hans pages show empty boxes.

    make run &                                   # the demo on http://127.0.0.1:8000
    .venv/bin/python -m devtools.portal_screenshots
    .venv/bin/python -m devtools.portal_screenshots --url http://127.0.0.1:8000 --phone +8613900000001 --lang en
"""

import argparse
import io
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
FONT_PACKAGE = "fonts-wqy-microhei"
PHONE = {"width": 390, "height": 844}
PAGES = [
    ("home", "/portal/"),
    ("history", "/portal/history/"),
    ("history-points", "/portal/history/?tab=points"),
    ("rewards", "/portal/rewards/"),
    ("vouchers", "/portal/vouchers/"),
    ("referral", "/portal/referral/"),
    ("surveys", "/portal/surveys/"),
    ("complaint-new", "/portal/complaints/new/"),
    ("profile", "/portal/profile/"),
    ("my-data", "/portal/my-data/"),
]


def cjk_font_installed() -> bool:
    return bool(shutil.which("fc-list")) and "WenQuanYi" in _fc_list()


def _fc_list() -> str:
    import subprocess

    return subprocess.run(["fc-list"], capture_output=True, text=True, check=False).stdout


def small_png(raw: bytes) -> bytes:
    """The screenshot with at most 64 colours: flat UI colours survive, the file shrinks ~4x."""
    from PIL import Image

    image = Image.open(io.BytesIO(raw)).convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--phone", default="+8613900000001", help="a demo member's phone")
    parser.add_argument("--lang", default="zh-hans", choices=["zh-hans", "zh-hant", "en"])
    parser.add_argument("--out", default=str(ROOT / "docs" / "portal"))
    args = parser.parse_args()
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing: apt-get install -y chromium", file=sys.stderr)
        return 2
    if args.lang != "en" and not cjk_font_installed():
        print(f"No CJK font: apt-get install -y {FONT_PACKAGE} (or use --lang en)", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_context(viewport=PHONE, device_scale_factor=1, locale=args.lang).new_page()
        page.goto(f"{args.url}/portal/sign-in/")
        page.locator("#lang-select").select_option(args.lang)
        page.locator("form.lang button").click()
        page.wait_for_selector(f"html[lang='{args.lang}']")
        _save(page, out / "sign-in.png")
        page.locator("input[name=phone]").fill(args.phone)
        page.locator("form.stack button[type=submit], main form button[type=submit]").last.click()
        page.wait_for_url(re.compile(r"/portal/sign-in/code/$"))
        code = page.locator("#debug-code").inner_text()  # DEBUG only: the demo shows the code
        page.locator("input[name=code]").fill(code)
        page.locator("main form button[type=submit]").last.click()
        page.wait_for_url(re.compile(r"/portal/$"))
        for name, path in PAGES:
            page.goto(f"{args.url}{path}")
            _save(page, out / f"{name}.png")
        browser.close()
    return 0


def _save(page, path: Path) -> None:
    path.write_bytes(small_png(page.screenshot(full_page=True)))
    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {path.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    sys.exit(main())
