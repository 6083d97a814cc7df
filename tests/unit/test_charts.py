"""The server-drawn SVG bar charts: valid XML, named and described, bars in proportion, labels escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from booking.charts import Bar, bar_chart

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)


def test_a_chart_is_valid_svg_with_a_title_and_description_it_is_labelled_by():
    root = _parse(bar_chart("fill", "Fill rate by venue", "Booked places as a share.", [Bar("Library", 0.5, "50%")]))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title.text == "Fill rate by venue" and desc.text == "Booked places as a share."
    assert root.get("aria-labelledby") == title.get("id") == "fill-title"
    assert root.get("aria-describedby") == desc.get("id") == "fill-desc"
    assert "style" not in markup_attributes(root)


def markup_attributes(root: ET.Element) -> set[str]:
    return {name for element in root.iter() for name in element.attrib}


def test_bars_are_in_proportion_to_their_values():
    root = _parse(bar_chart("c", "T", "D", [Bar("A", 10, "10"), Bar("B", 5, "5"), Bar("C", 2.5, "2.5")]))
    widths = [float(rect.get("width")) for rect in root.iter(f"{SVG}rect")]
    assert widths[0] == 2 * widths[1] == 4 * widths[2]


def test_a_maximum_fixes_the_scale_so_a_half_is_half_the_plot():
    half = _parse(bar_chart("c", "T", "D", [Bar("A", 0.5, "50%")], maximum=1.0))
    full = _parse(bar_chart("c", "T", "D", [Bar("A", 1.0, "100%")], maximum=1.0))
    assert float(half.find(f"{SVG}rect").get("width")) * 2 == float(full.find(f"{SVG}rect").get("width"))


def test_no_data_draws_no_bar_and_says_so_in_text():
    root = _parse(bar_chart("c", "T", "D", [Bar("Empty venue", None, "no data")]))
    assert root.find(f"{SVG}rect") is None
    assert "no data" in [text.text for text in root.iter(f"{SVG}text")]


def test_every_bar_carries_its_label_and_value_as_text():
    root = _parse(bar_chart("c", "T", "D", [Bar("Library", 0.75, "75%")], maximum=1.0))
    texts = [text.text for text in root.iter(f"{SVG}text")]
    assert texts == ["Library", "75%"]


def test_labels_titles_and_ids_are_escaped():
    markup = bar_chart('x"y', "<Fill> & rate", "D <b>", [Bar('<script>alert("x")</script> & Co', 1, "1")])
    root = _parse(markup)  # would raise if anything were left unescaped
    assert "<script>" not in markup
    assert root.find(f"{SVG}title").text == "<Fill> & rate"
    assert root.get("id") == 'x"y'
    assert any("<script>" in (text.text or "") for text in root.iter(f"{SVG}text"))


def test_an_empty_chart_says_there_is_nothing_to_show():
    root = _parse(bar_chart("c", "T", "D", []))
    assert "Nothing to show" in [text.text for text in root.iter(f"{SVG}text")]


def test_colours_meet_contrast_on_white():
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    def contrast(colour: str) -> float:
        return (1.05) / (luminance(colour) + 0.05)

    root = _parse(bar_chart("c", "T", "D", [Bar("A", 1, "1")]))
    assert all(contrast(rect.get("fill")) >= 3 for rect in root.iter(f"{SVG}rect"))
    assert all(contrast(text.get("fill")) >= 4.5 for text in root.iter(f"{SVG}text"))
