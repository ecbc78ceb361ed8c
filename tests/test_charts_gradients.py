"""mlc.charts_gradients: the microscope's share chart and the loss curves draw what they are given."""

import pytest

from mlc import charts_gradients, gradients, losses

ROWS = [
    {"epoch": e, "source": s, "tag": t, "total": 1.0, "positive": p, "negative": 1.0 - p - u, "unknown": u}
    for e in (1, 2)
    for s in (0, 1)
    for t, (p, u) in enumerate([(0.1, 0.0), (0.5, 0.2)])
]


def test_share_frame_keeps_one_source_and_sums_to_one_per_tag_and_epoch():
    frame = charts_gradients.share_frame(ROWS, ("rare", "common"), "train")
    assert set(frame["part"]) == {"positive", "negative", "unknown"}
    sums = frame.groupby(["epoch", "tag"])["share"].sum()
    assert sums.tolist() == pytest.approx([1.0] * 4)
    assert frame[(frame.tag == "rare") & (frame.part == "negative")]["share"].tolist() == pytest.approx([0.9, 0.9])


def test_without_unknowns_there_is_no_unknown_part():
    rows = [dict(r, unknown=0.0, negative=1.0 - r["positive"]) for r in ROWS]
    assert "unknown" not in set(charts_gradients.share_frame(rows, ("rare", "common"))["part"])


def test_share_chart_has_one_panel_per_tag_in_the_tag_order():
    spec = charts_gradients.share_chart(ROWS, ("rare", "common")).to_dict()
    assert spec["facet"]["column"]["sort"] == ["rare", "common"]
    assert spec["spec"]["encoding"]["y"]["stack"] == "zero"


def test_curve_chart_draws_one_line_per_loss_mode():
    frame, _ = gradients.curves(["bce", "focal"], 1.0, points=5)
    spec = charts_gradients.curve_chart(frame, "gradient", "gradient").to_dict()
    assert spec["encoding"]["color"]["field"] == "mode" and spec["encoding"]["y"]["field"] == "gradient"
    assert sorted(frame["mode"].unique()) == ["bce", "focal"]
    assert (frame[frame["mode"] == "bce"]["gradient"] < 0).all()  # a positive target pulls z up everywhere


def test_every_loss_has_a_curve_for_a_present_tag():
    frame, _ = gradients.curves(list(losses.LOSSES), 1.0, points=3)
    assert len(frame["mode"].unique()) == len(losses.LOSSES)


def test_curves_that_coincide_are_named_so_no_loss_seems_missing():
    _, notes = gradients.curves(["bce", "asl", "zlpr", "focal"], 1.0, points=9)
    assert "bce, asl and zlpr draw the same curves here: the lines hide each other." in notes
    assert not any("focal" in n and "same curves" in n for n in notes)
    _, unknown = gradients.curves(["zlpr", "two_way"], -1.0, points=5)
    assert not any("same curves" in n for n in unknown)  # both flat at 0: each has its own note already
    assert sum("a flat line at 0" in n for n in unknown) == 2


def test_curve_colours_are_a_clear_categorical_scheme_in_the_modes_order():
    frame, _ = gradients.curves(["focal", "bce"], 0.0, points=3)
    scale = charts_gradients.curve_chart(frame, "loss", "loss").to_dict()["encoding"]["color"]["scale"]
    assert scale == {"domain": ["focal", "bce"], "scheme": "category10"}


def test_many_tags_wrap_onto_rows_so_no_panel_is_cut_off():
    rows = [dict(r, tag=t) for r in ROWS if r["tag"] == 0 for t in range(10)]
    tags = tuple("0123456789")
    assert set(charts_gradients.share_frame(rows, tags, "train")["tag"]) == set(tags)
    columns, width = charts_gradients.panel_layout(len(tags))
    spec = charts_gradients.share_chart(rows, tags, "train", panel_width=width, columns=columns).to_dict()
    assert spec["columns"] == 5 and spec["facet"]["sort"] == list(tags)
    assert 5 * width <= 370
