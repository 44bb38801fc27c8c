"""Palm detection stages: letterbox, decoding, weighted NMS, letterbox removal."""

from __future__ import annotations

import numpy as np
import pytest

from handtrace.anchors import palm_anchors
from handtrace.detection import (
    Letterbox,
    PalmDetections,
    PalmDetector,
    box_iou,
    decode_boxes,
    letterbox,
    palm_input_shape,
    postprocess,
    sigmoid_scores,
    weighted_nms,
)


def test_letterbox_wide_image_pads_top_and_bottom():
    image = np.full((50, 100, 3), 255, np.uint8)
    tensor, box = letterbox(image)
    assert tensor.shape == (192, 192, 4) and tensor.dtype == np.uint8
    assert box == Letterbox(width=100.0, height=100.0, pad_x=0.0, pad_y=25.0)
    rgb = tensor[..., :3]
    assert rgb[:47].max() == 0 and rgb[146:].max() == 0  # 48 rows of border each side
    assert rgb[50:142, 2:190].min() == 255
    np.testing.assert_allclose(box.to_image(np.array([[0.5, 0.5], [0.0, 0.25]])), [[50, 25], [0, 0]])


def test_letterbox_matrix_maps_image_corners_to_content_edges():
    box = Letterbox(width=400.0, height=400.0, pad_x=100.0, pad_y=0.0)  # a 200 x 400 (w x h) image
    m = box.matrix(192)
    corners = np.array([[0, 0, 1], [200, 400, 1]], float)
    np.testing.assert_allclose(corners @ m.T, [[48, 0], [144, 192]])


@pytest.mark.parametrize(("image", "long_side", "expected"), [
    ((1080, 1920), 192, (128, 192)),  # 108 rows of content -> 128
    ((427, 640), 192, (128, 192)),  # 128.1 rows: shrunk by 0.1% rather than padded to 160
    ((440, 640), 192, (160, 192)),  # 132 rows: padded
    ((1080, 620), 192, (192, 128)),
    ((500, 500), 192, (192, 192)),
    ((382, 720), 128, (96, 128)),
    ((10, 1000), 192, (32, 192)),  # never below one 32-pixel row
])
def test_palm_input_shape_fits_the_short_side_in_multiples_of_32(image, long_side, expected):
    h, w = palm_input_shape(*image, long_side)
    assert (h, w) == expected
    scale = long_side / max(image)
    assert h >= image[0] * scale - 3.2 and w >= image[1] * scale - 3.2  # fits, at most 3.2 px shrunk
    assert h % 32 == 0 and w % 32 == 0


def test_letterbox_into_a_rectangle_fits_and_centres_the_image():
    image = np.full((50, 100, 3), 255, np.uint8)  # 2:1 into 128 x 192 (3:2): 32 rows of border in all
    tensor, box = letterbox(image, (128, 192))
    assert tensor.shape == (128, 192, 4)
    assert box.width == 100.0 and box.height == pytest.approx(100 * 128 / 192)
    assert box.pad_x == 0.0 and box.pad_y == pytest.approx((100 * 128 / 192 - 50) / 2)
    rgb = tensor[..., :3]
    assert rgb[:15].max() == 0 and rgb[113:].max() == 0 and rgb[18:110, 2:190].min() == 255
    # Input corners <-> the covered image rectangle, both ways.
    m, inv = box.matrix((128, 192)), box.input_to_image((128, 192))
    corners = np.array([[-box.pad_x, -box.pad_y, 1], [100 + box.pad_x, 50 + box.pad_y, 1]])
    np.testing.assert_allclose(corners @ m.T, [[0, 0], [192, 128]], atol=1e-9)
    np.testing.assert_allclose(np.array([[192, 128, 1.0]]) @ inv.T, corners[1:, :2], atol=1e-9)
    np.testing.assert_allclose(box.to_image(np.array([[0.5, 0.5]])), [[50, 25]])


def test_letterbox_fit_keeps_mediapipes_square_exactly():
    for h, w in [(427, 640), (640, 427), (300, 300)]:
        box = Letterbox.fit(h, w, 192)
        assert box.width == box.height == float(max(h, w))
        assert (box.pad_x, box.pad_y) == ((max(h, w) - w) / 2, (max(h, w) - h) / 2)


def test_sigmoid_scores_clip():
    s = sigmoid_scores(np.array([0.0, 1000.0, -1000.0, 2.0], np.float32))
    np.testing.assert_allclose(s, [0.5, 1.0, 0.0, 1 / (1 + np.exp(-2))], atol=1e-7)
    assert np.all(np.isfinite(s))


def test_decode_boxes_offsets_in_input_pixels():
    anchors = palm_anchors()
    raw = np.zeros((2016, 18), np.float32)
    raw[5, :4] = [19.2, -9.6, 38.4, 19.2]  # dx, dy, w, h in 192-px units
    raw[5, 4:6] = [9.6, 0.0]  # keypoint 0
    boxes, kps = decode_boxes(raw)
    cx, cy = anchors[5, :2]
    np.testing.assert_allclose(boxes[5], [cx + 0.1 - 0.1, cy - 0.05 - 0.05, cx + 0.1 + 0.1, cy - 0.05 + 0.05],
                               atol=1e-6)
    np.testing.assert_allclose(kps[5, 0], [cx + 0.05, cy], atol=1e-6)
    np.testing.assert_allclose(kps[5, 1:], np.tile(anchors[5, :2], (6, 1)), atol=1e-6)
    # Batched input decodes the same.
    b2, k2 = decode_boxes(np.stack([raw, raw]))
    np.testing.assert_allclose(b2[1], boxes)
    assert k2.shape == (2, 2016, 7, 2)


def test_box_iou():
    others = np.array([[0, 0, 2, 2], [1, 1, 3, 3], [5, 5, 6, 6], [1, 1, 1, 1]])
    iou = box_iou(np.array([0, 0, 2, 2.0]), others)
    np.testing.assert_allclose(iou, [1.0, 1 / 7, 0.0, 0.0])


def _kps(boxes):
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    return np.repeat(centres[:, None], 7, axis=1)


def test_weighted_nms_blends_overlapping_boxes_by_score():
    boxes = np.array([[0.0, 0.0, 1.0, 1.0], [0.1, 0.0, 1.1, 1.0], [3.0, 3.0, 4.0, 4.0]])
    scores = np.array([0.6, 0.9, 0.7])
    out_b, out_k, out_s = weighted_nms(boxes, _kps(boxes), scores)
    assert len(out_s) == 2
    np.testing.assert_allclose(out_s, [0.9, 0.7])  # best score kept, best cluster first
    w = np.array([0.9, 0.6]) / 1.5
    np.testing.assert_allclose(out_b[0], w @ boxes[[1, 0]])
    np.testing.assert_allclose(out_k[0, 3], w @ _kps(boxes)[[1, 0], 3])
    np.testing.assert_allclose(out_b[1], boxes[2])


def test_weighted_nms_threshold_is_strict_iou_over_0_3():
    boxes = np.array([[0.0, 0.0, 1.0, 1.0], [0.5, 0.0, 1.5, 1.0]])  # IoU 1/3 -> merged
    assert len(weighted_nms(boxes, _kps(boxes), np.array([0.9, 0.8]))[2]) == 1
    boxes = np.array([[0.0, 0.0, 1.0, 1.0], [0.6, 0.0, 1.6, 1.0]])  # IoU 0.25 -> kept apart
    out = weighted_nms(boxes, _kps(boxes), np.array([0.9, 0.8]))
    np.testing.assert_allclose(out[0], boxes)


def test_weighted_nms_empty_and_max_detections():
    b, k, s = weighted_nms(np.zeros((0, 4)), np.zeros((0, 7, 2)), np.zeros(0))
    assert b.shape == (0, 4) and k.shape == (0, 7, 2) and s.shape == (0,)
    boxes = np.array([[0, 0, 1, 1], [2, 2, 3, 3], [4, 4, 5, 5.0]])
    assert len(weighted_nms(boxes, _kps(boxes), np.array([0.5, 0.7, 0.6]), max_detections=2)[2]) == 2


def _fake_outputs(index: int, logit: float = 5.0, size_px: float = 38.4):
    regressors = np.zeros((2016, 18), np.float32)
    regressors[index, 2:4] = size_px
    regressors[index, 4:] = np.tile([0.0, -19.2], 7)  # keypoints 0.1 above the anchor centre
    logits = np.full(2016, -10.0, np.float32)
    logits[index] = logit
    return regressors, logits


def test_postprocess_undoes_letterbox():
    # Image 400 wide x 200 high: input square covers y in [-100, 300].
    box = Letterbox(width=400.0, height=400.0, pad_x=0.0, pad_y=100.0)
    index = 1152 + (6 * 12 + 6) * 6  # stride-16 cell (6, 6): centre (6.5/12, 6.5/12)
    dets = postprocess(*_fake_outputs(index), box)
    assert len(dets) == 1
    c = 6.5 / 12 * 400
    np.testing.assert_allclose(dets.boxes[0], [c - 40, c - 100 - 40, c + 40, c - 100 + 40], atol=1e-3)
    np.testing.assert_allclose(dets.keypoints[0, 2], [c, c - 100 - 40], atol=1e-3)
    assert dets.scores[0] == pytest.approx(1 / (1 + np.exp(-5.0)))
    assert len(postprocess(*_fake_outputs(index, logit=-1.0), box)) == 0  # below min_score 0.5


def test_palm_detector_batches_images_through_the_model():
    calls = []

    def model(batch):
        calls.append(batch.shape)
        regs, logits = zip(*[_fake_outputs(100 + i) for i in range(len(batch))], strict=True)
        return np.stack(regs), np.stack(logits)

    detector = PalmDetector(model)
    images = [np.zeros((120, 90, 3), np.uint8), np.zeros((30, 60, 3), np.uint8)]
    out = detector.detect_batch(images)
    assert calls == [(2, 192, 192, 4)]
    assert [len(d) for d in out] == [1, 1]
    single = detector(images[0])
    np.testing.assert_allclose(single.boxes, out[0].boxes)


def test_palm_detector_at_the_small_input_decodes_with_its_own_anchors():
    # 128x128 input: 896 anchors, offsets in 128-px units; a box centred on the stride-16 cell (3, 5).
    anchors = palm_anchors(128)
    index = 512 + (3 * 8 + 5) * 6
    regressors = np.zeros((1, 896, 18), np.float32)
    regressors[0, index, 2:4] = 64.0  # half the input
    logits = np.full((1, 896), -10.0, np.float32)
    logits[0, index] = 5.0
    calls = []

    def model(batch):
        calls.append(batch.shape)
        return regressors, logits

    image = np.zeros((300, 300, 3), np.uint8)
    dets = PalmDetector(model, input_size=128)(image)
    assert calls == [(1, 128, 128, 4)]
    cx, cy = anchors[index, :2] * 300
    np.testing.assert_allclose(anchors[index, :2], [5.5 / 8, 3.5 / 8])
    np.testing.assert_allclose(dets.boxes[0], [cx - 75, cy - 75, cx + 75, cy + 75], atol=1e-3)


class _AnySizeModel:
    """A fake palm model taking any input size: one confident box at a given stride-16 cell."""

    any_size = True
    input_size = 192

    def __init__(self, cell: tuple[int, int]) -> None:
        self.cell, self.calls = cell, []

    def __call__(self, batch):
        n, h, w = batch.shape[:3]
        self.calls.append(batch.shape)
        anchors = palm_anchors(h, w)
        index = (h // 8) * (w // 8) * 2 + (self.cell[0] * (w // 16) + self.cell[1]) * 6
        regressors = np.zeros((n, len(anchors), 18), np.float32)
        regressors[:, index, 2:4] = [w / 2, h / 2]  # half the input's width and height
        logits = np.full((n, len(anchors)), -10.0, np.float32)
        logits[:, index] = 5.0
        return regressors, logits


def test_palm_detector_runs_a_rectangular_input_that_fits_the_image():
    model = _AnySizeModel(cell=(3, 5))
    image = np.zeros((200, 300, 3), np.uint8)  # 3:2 -> 128 x 192, no border at all
    dets = PalmDetector(model)(image)
    assert model.calls == [(1, 128, 192, 4)]
    cx, cy = 5.5 / 12 * 300, 3.5 / 8 * 200
    np.testing.assert_allclose(dets.boxes[0], [cx - 75, cy - 50, cx + 75, cy + 50], atol=1e-3)
    # square=True is MediaPipe's 192x192 letterbox, whatever the model accepts.
    PalmDetector(model, square=True)(image)
    assert model.calls[-1] == (1, 192, 192, 4)
    # A batch runs at the smallest size every image fits.
    PalmDetector(model).detect_batch([image, np.zeros((300, 200, 3), np.uint8)])
    assert model.calls[-1] == (2, 192, 192, 4)
    PalmDetector(model, input_size=128)(np.zeros((100, 300, 3), np.uint8))
    assert model.calls[-1] == (1, 64, 128, 4)


def test_rectangular_input_finds_the_palms_of_the_square_letterbox(data_dir):
    from handtrace.io import read_image
    from handtrace.runtime import PalmDetectorModel

    path = data_dir / "tfjs-models" / "hands.jpg"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    image = read_image(path)  # 720 x 382, two hands: 96 x 192 instead of 192 x 192
    model = PalmDetectorModel("full")
    tight, square = PalmDetector(model)(image), PalmDetector(model, square=True)(image)
    assert len(tight) == len(square) == 2
    iou = np.array([box_iou(b, square.boxes).max() for b in tight.boxes])
    assert iou.min() > 0.85, iou


def test_palm_detections_helpers():
    d = PalmDetections(np.array([[1, 2, 3, 4]], np.float32), np.ones((1, 7, 2), np.float32),
                       np.array([0.8], np.float32))
    t = d.translated(-10, 5)
    np.testing.assert_allclose(t.boxes, [[-9, 7, -7, 9]])
    np.testing.assert_allclose(t.keypoints[0, 0], [-9, 6])
    assert len(PalmDetections.empty()) == 0
    assert len(d[np.array([], int)]) == 0


@pytest.mark.parametrize("min_score", [0.0, 1e-9, 0.3, 0.5, 0.9, 0.999, 1.0])
def test_postprocess_keeps_exactly_the_anchors_above_the_score_threshold(min_score):
    rng = np.random.default_rng(3)
    logits = rng.normal(0, 4, len(palm_anchors())).astype(np.float32)
    regressors = rng.normal(0, 2, (len(palm_anchors()), 18)).astype(np.float32)
    box = Letterbox(width=192.0, height=192.0, pad_x=0.0, pad_y=0.0)
    got = postprocess(regressors, logits, box, min_score=min_score, iou_threshold=1.0)  # no merging
    expected = np.sort(sigmoid_scores(logits)[sigmoid_scores(logits) >= min_score])[::-1]
    np.testing.assert_allclose(got.scores, expected, rtol=1e-6)
