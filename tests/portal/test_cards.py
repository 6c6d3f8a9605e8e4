"""The member card's barcode is a Code128 the till can read: decoded here from the SVG's bar
widths, per the specification (ISO/IEC 15417)."""

import re

from barcode.charsets.code128 import CODES

from portal.cards import code128_svg, qr_svg

START_C, STOP = 105, "1100011101011"  # the stop symbol with its final two-module bar


def _modules(svg: str, quiet: int = 10) -> str:
    """Bars and spaces back from the SVG's rectangles, one character per module."""
    width = int(re.search(r'viewBox="0 0 (\d+) ', svg).group(1))
    modules = ["0"] * width
    for x, w in re.findall(r'<rect x="(\d+)" y="0" width="(\d+)"', svg):
        for i in range(int(x), int(x) + int(w)):
            modules[i] = "1"
    return "".join(modules)[quiet:-quiet]


def _widths(symbol: str) -> list[int]:
    return [len(run) for run in re.findall(r"1+|0+", symbol)]


def test_the_card_barcode_decodes_to_the_card_number():
    card = "8123456789012345"
    modules = _modules(code128_svg(card))
    body, stop = modules[:-13], modules[-13:]
    symbols = [body[i : i + 11] for i in range(0, len(body), 11)]

    # Every symbol is three bars and three spaces, 11 modules wide, each element 1 to 4 modules.
    assert all(len(_widths(s)) == 6 and sum(_widths(s)) == 11 and max(_widths(s)) <= 4 for s in symbols)
    values = [CODES.index(s) for s in symbols]
    start, data, check = values[0], values[1:-1], values[-1]
    assert (start, stop) == (START_C, STOP)
    assert "".join(f"{v:02d}" for v in data) == card  # code set C: two digits per symbol
    assert check == (start + sum(i * v for i, v in enumerate(data, start=1))) % 103


def test_the_barcode_svg_scales_and_names_itself():
    svg = code128_svg("8123456789012345", title="Card <1>")

    assert svg.startswith('<svg class="barcode" role="img" viewBox="0 0 ')
    assert "<title>Card &lt;1&gt;</title>" in svg


def test_the_qr_code_is_an_inline_svg_without_fixed_size():
    svg = qr_svg("8123456789012345", title="Card")

    assert svg.startswith('<svg viewBox="0 0 ') and 'class="segno"' in svg and "<title>Card</title>" in svg
