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
    postprocess,
    sigmoid_scores,
    weighted_nms,
)


def test_letterbox_wide_image_pads_top_and_bottom():
    image = np.full((50, 100, 3), 255, np.uint8)
    tensor, box = letterbox(image)
    assert tensor.shape == (192, 192, 4) and tensor.dtype == np.uint8
    assert box == Letterbox(side=100.0, pad_x=0.0, pad_y=25.0)
    rgb = tensor[..., :3]
    assert rgb[:47].max() == 0 and rgb[146:].max() == 0  # 48 rows of border each side
    assert rgb[50:142, 2:190].min() == 255
    np.testing.assert_allclose(box.to_image(np.array([[0.5, 0.5], [0.0, 0.25]])), [[50, 25], [0, 0]])


def test_letterbox_matrix_maps_image_corners_to_content_edges():
    box = Letterbox(side=400.0, pad_x=100.0, pad_y=0.0)  # a 200 x 400 (w x h) image
    m = box.matrix(192)
    corners = np.array([[0, 0, 1], [200, 400, 1]], float)
    np.testing.assert_allclose(corners @ m.T, [[48, 0], [144, 192]])


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
    box = Letterbox(side=400.0, pad_x=0.0, pad_y=100.0)
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
    box = Letterbox(side=192.0, pad_x=0.0, pad_y=0.0)
    got = postprocess(regressors, logits, box, min_score=min_score, iou_threshold=1.0)  # no merging
    expected = np.sort(sigmoid_scores(logits)[sigmoid_scores(logits) >= min_score])[::-1]
    np.testing.assert_allclose(got.scores, expected, rtol=1e-6)
