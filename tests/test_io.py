"""Image reading and input validation."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from handtrace.io import as_rgb_uint8, read_image


def test_rgb_passes_through_without_copy():
    image = np.zeros((4, 5, 3), np.uint8)
    assert as_rgb_uint8(image) is image


def test_grayscale_and_rgba_are_converted():
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    for g in (gray, gray[:, :, None]):
        out = as_rgb_uint8(g)
        assert out.shape == (3, 4, 3)
        np.testing.assert_array_equal(out[:, :, 2], gray)
    rgba = np.dstack([np.full((2, 2, 3), 7, np.uint8), np.zeros((2, 2), np.uint8)])
    out = as_rgb_uint8(rgba)
    assert out.shape == (2, 2, 3) and out.flags.c_contiguous and np.all(out == 7)


def test_non_contiguous_is_copied():
    image = np.zeros((4, 6, 3), np.uint8)[:, ::2]
    out = as_rgb_uint8(image)
    assert out.flags.c_contiguous and out.shape == (4, 3, 3)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "image is None"),
        (np.zeros((4, 4, 3), np.float64), "image must be uint8, got float64"),
        (np.zeros((4, 4, 3), np.float32), "must be uint8, got float32"),
        (np.zeros((4, 4, 3), np.int64), "image must be uint8, got int64"),
        (np.zeros((1, 4, 4, 3), np.uint8), "got 4-D array of shape \\(1, 4, 4, 3\\)"),
        (np.zeros(5, np.uint8), "got 1-D array"),
        (np.zeros((0, 4, 3), np.uint8), "image is empty"),
        (np.zeros((0,), np.uint8), "1-D"),
        (np.zeros((4, 4, 2), np.uint8), "1, 3 or 4 channels, got 2"),
        ("not an image", "must be uint8"),
    ],
)
def test_bad_arrays_raise_value_error(value, message):
    with pytest.raises(ValueError, match=message):
        as_rgb_uint8(value)


def test_read_image_converts_bgr_to_rgb(tmp_path):
    bgr = np.zeros((8, 6, 3), np.uint8)
    bgr[:, :, 0] = 255  # blue in OpenCV's order
    path = tmp_path / "blue.png"
    assert cv2.imwrite(str(path), bgr)
    rgb = read_image(path)
    assert rgb.shape == (8, 6, 3) and rgb.dtype == np.uint8
    assert np.all(rgb[:, :, 2] == 255) and np.all(rgb[:, :, :2] == 0)
    assert read_image(str(path)).shape == (8, 6, 3)  # str paths too


def test_read_image_gray_and_rgba_files(tmp_path):
    gray = tmp_path / "gray.png"
    cv2.imwrite(str(gray), np.full((5, 7), 90, np.uint8))
    assert read_image(gray).shape == (5, 7, 3)
    rgba = tmp_path / "rgba.png"
    cv2.imwrite(str(rgba), np.dstack([np.full((5, 7, 3), 40, np.uint8), np.zeros((5, 7), np.uint8)]))
    out = read_image(rgba)
    assert out.shape == (5, 7, 3) and np.all(out == 40)


def test_missing_file(tmp_path):
    path = tmp_path / "missing.jpg"
    with pytest.raises(FileNotFoundError, match=r"missing\.jpg"):
        read_image(path)


def test_non_image_file(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("this is not a picture")
    with pytest.raises(ValueError, match=r"cannot decode image .*notes\.jpg"):
        read_image(path)


def test_empty_file_and_directory(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.png.*empty"):
        read_image(empty)
    with pytest.raises(ValueError, match="not a regular file"):
        read_image(tmp_path)
