import numpy as np
import pytest

from napari_semcolor import hints as H
from napari_semcolor.errors import SemcolorError


def test_gray_hint_masks_without_colour():
    ab, mask = H.rasterize([H.Hint(2, 3, (0.5, 0.5, 0.5), 2), H.Hint(6, 6, (1, 0, 0), 1)], (10, 10))
    assert mask[2:4, 3:5].all() and mask[6, 6] == 1 and mask.sum() == 5
    assert np.all(ab[2:4, 3:5] == 0)
    assert np.hypot(*ab[6, 6]) > 50  # red has high chroma


def test_rasterize_at_working_scale_covers_at_least_one_pixel():
    ab, mask = H.rasterize([H.Hint(999, 999, (0, 0, 1), 1)], (1000, 1000), (100, 100))
    assert mask.sum() == 1 and mask[99, 99] == 1
    _, mask = H.rasterize([H.Hint(100, 100, (0, 0, 1), 40)], (1000, 1000), (100, 100))
    assert mask.sum() == 16 and mask[10:14, 10:14].all()


@pytest.mark.parametrize("y, x", [(-1, 0), (0, 10), (10, 0), (50, 50)])
def test_hint_outside_image_is_a_clear_error(y, x):
    with pytest.raises(SemcolorError, match="outside the image"):
        H.rasterize([H.Hint(y, x, (1, 0, 0))], (10, 10))


def test_a_hint_on_a_plane_is_refused_on_a_2d_image_and_no_plane_is_fine():
    from napari_semcolor.pipeline import colorize

    image = np.tile(np.linspace(0, 1, 16), (16, 1))
    with pytest.raises(SemcolorError, match=r"hint 1 is on plane \(2,\) but the image is 2D"):
        colorize(image, "propagate", [H.Hint(3, 3, (1, 0, 0)), H.Hint(4, 4, (0, 0, 1), plane=(2,))])
    for plane in ((), None):
        assert colorize(image, "propagate", [H.Hint(3, 3, (1, 0, 0), plane=plane)]).rgb.shape == (1, 16, 16, 3)


def test_points_centre_and_csv_top_left_agree(tmp_path):
    hints = [H.Hint(10, 20, (1.0, 0.0, 0.0), 5), H.Hint(3, 4, (0, 0.5, 1), 1)]
    coords, sizes, colors = H.to_points(hints)
    np.testing.assert_allclose(coords[0], [12, 22])  # the centre of rows 10..14, cols 20..24
    back = H.from_points(coords, colors, sizes)
    assert [(h.y, h.x, h.size) for h in back] == [(10, 20, 5), (3, 4, 1)]
    H.write_csv(hints, tmp_path / "h.csv")
    again = H.read_csv(tmp_path / "h.csv")
    assert [(h.y, h.x, h.size, h.hex) for h in again] == [(h.y, h.x, h.size, h.hex) for h in hints]


def test_csv_size_is_optional_and_bad_rows_are_reported(tmp_path):
    (tmp_path / "a.csv").write_text("y,x,r,g,b\n1,2,255,0,0\n")
    assert H.read_csv(tmp_path / "a.csv")[0].size == 1
    (tmp_path / "b.csv").write_text("y,x,r,g,b\n1,2,300,0,0\n")
    with pytest.raises(SemcolorError, match="line 2"):
        H.read_csv(tmp_path / "b.csv")
    (tmp_path / "c.csv").write_text("row,col\n1,2\n")
    with pytest.raises(SemcolorError, match="y,x,r,g,b"):
        H.read_csv(tmp_path / "c.csv")


@pytest.mark.parametrize("value, expected", [("#ff0000", (1, 0, 0)), ((255, 0, 0), (1, 0, 0)), ((0.5, 0.5, 0.5, 1), (0.5, 0.5, 0.5))])
def test_parse_color(value, expected):
    np.testing.assert_allclose(H.parse_color(value), expected)


@pytest.mark.parametrize("bad", ["red", "#12", (1, 2), (-1, 0, 0), (0, 0, 300)])
def test_parse_color_refuses_nonsense(bad):
    with pytest.raises(SemcolorError):
        H.parse_color(bad)


def test_hint_dict_round_trip():
    hints = [H.Hint(10, 20, (1.0, 0.0, 0.0), 5), H.Hint(3, 4, (0.2, 0.4, 0.6), 1, plane=(2, 0))]
    dicts = [h.to_dict() for h in hints]
    assert dicts[1] == {"y": 3, "x": 4, "color": "#336699", "size": 1, "plane": [2, 0]}
    back = [H.Hint.from_dict(d) for d in dicts]
    assert [(h.y, h.x, h.size, h.plane, h.hex) for h in back] == [(h.y, h.x, h.size, h.plane, h.hex) for h in hints]
    assert H.Hint.from_dict({"y": 1, "x": 2, "color": "#00ff00"}) == H.Hint(1, 2, (0.0, 1.0, 0.0), 1, ())


@pytest.mark.parametrize("bad", [{"x": 1, "color": "#ff0000"}, {"y": 1, "x": 2, "color": "red"}, {"y": "a", "x": 2, "color": "#ff0000"}, "y=1"])
def test_hint_from_a_bad_dict_is_a_clear_error(bad):
    with pytest.raises(SemcolorError, match="a hint is"):
        H.Hint.from_dict(bad)


def test_a_file_that_is_not_a_hints_csv_gets_a_message(tmp_path):
    import pytest

    from napari_semcolor.errors import SemcolorError
    from napari_semcolor.hints import read_csv

    binary = tmp_path / "image.png"
    binary.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(SemcolorError, match="not a text CSV"):
        read_csv(binary)
    infinite = tmp_path / "inf.csv"
    infinite.write_text("y,x,r,g,b\ninf,3,255,0,0\n")
    with pytest.raises(SemcolorError, match="line 2"):
        read_csv(infinite)
