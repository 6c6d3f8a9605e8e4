"""The member card as the till scans it: a QR code (segno) and a Code128 barcode (python-barcode
encodes; we only draw its modules as an SVG that scales with the phone's width)."""

import segno
from barcode import Code128
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe


def qr_svg(text: str, *, title: str = "") -> SafeString:
    svg = segno.make(text, micro=False, error="m").svg_inline(scale=5, title=title or None, omitsize=True)
    return mark_safe(svg)  # noqa: S308 - segno escapes what it writes


def code128_modules(text: str) -> str:
    """The barcode's modules, "1" for a bar, "0" for a space, start to stop (no quiet zone)."""
    return "".join(Code128(text).build())


def code128_svg(text: str, *, title: str = "", height: int = 40, quiet: int = 10) -> SafeString:
    modules = code128_modules(text)
    bars, x = [], quiet
    for run in _runs(modules):
        if run[0] == "1":
            bars.append(f'<rect x="{x}" y="0" width="{len(run)}" height="{height}"/>')
        x += len(run)
    width = len(modules) + 2 * quiet
    label = f"<title>{escape(title)}</title>" if title else ""
    return mark_safe(  # noqa: S308 - only numbers and the escaped title go in
        f'<svg class="barcode" role="img" viewBox="0 0 {width} {height}" preserveAspectRatio="none" '
        f'xmlns="http://www.w3.org/2000/svg" shape-rendering="crispEdges">{label}'
        f'<rect width="{width}" height="{height}" fill="#fff"/><g fill="#000">{"".join(bars)}</g></svg>'
    )


def _runs(modules: str) -> list[str]:
    runs: list[str] = []
    for bit in modules:
        if runs and runs[-1][0] == bit:
            runs[-1] += bit
        else:
            runs.append(bit)
    return runs
