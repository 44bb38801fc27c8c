"""Keypoint evaluation: metric math on synthetic predictions, matching, padding, the shared-data loaders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from handtrace import evaluation as ev


def make_hand(x0: float = 50.0, y0: float = 40.0, size: float = 100.0) -> np.ndarray:
    """A (21, 2) synthetic hand whose keypoint box is exactly ``size`` on its largest side."""
    rng = np.random.default_rng(int(x0 * 7 + y0))
    pts = rng.uniform(0, 1, (21, 2)) * [size, 0.8 * size]
    pts[0] = [0, 0]
    pts[1] = [size, 0.8 * size]
    return pts + np.array([x0, y0])


def test_perfect_prediction_scores_one() -> None:
    gt = make_hand()
    scores = ev.score_image([gt.copy()], [gt])
    assert scores[0].found and scores[0].mean_error == 0.0
    rec = ev.ImageRecord("a", 200, 200, 1, 1.0, scores)
    s = ev.summarize([rec])
    assert s.found == 1 and s.gt_hands == 1 and s.found_rate == 1.0
    assert s.pck == {0.1: 1.0, 0.2: 1.0}
    assert s.mean_error_px == 0.0


@pytest.mark.parametrize(
    ("shift", "err", "pck01", "pck02"), [((3, 4), 5.0, 1.0, 1.0), ((9, 12), 15.0, 0.0, 1.0)]
)
def test_known_shift_gives_known_error(
    shift: tuple[int, int], err: float, pck01: float, pck02: float
) -> None:
    gt = make_hand(size=100.0)
    assert ev.keypoint_box_size(gt) == pytest.approx(100.0)
    pred = np.c_[gt + shift, np.zeros(21)]  # predictions may carry z
    (h,) = ev.score_image([pred], [gt])
    np.testing.assert_allclose(h.errors, err)
    s = ev.summarize([ev.ImageRecord("a", 300, 300, 1, 2.0, [h])])
    assert s.mean_error_px == pytest.approx(err)
    assert s.pck[0.1] == pytest.approx(pck01)
    assert s.pck[0.2] == pytest.approx(pck02)


def test_matching_two_hands_in_any_order() -> None:
    a, b = make_hand(0, 0), make_hand(300, 0)
    pairs = ev.match_hands([b + 2, a - 1], [a, b])
    assert sorted(pairs) == [(0, 1), (1, 0)]
    scores = ev.score_image([b + 2, a - 1], [a, b])
    assert [h.pred_index for h in scores] == [1, 0]
    np.testing.assert_allclose(scores[0].errors, np.sqrt(2))
    np.testing.assert_allclose(scores[1].errors, np.sqrt(8))


def test_far_or_missing_predictions_are_not_found() -> None:
    a, b = make_hand(0, 0), make_hand(300, 0)
    # one prediction near b only; a is missed, and a prediction far from everything matches nothing
    scores = ev.score_image([b + 1, make_hand(2000, 2000)], [a, b])
    assert [h.found for h in scores] == [False, True]
    assert np.isnan(scores[0].mean_error)
    s = ev.summarize([ev.ImageRecord("x", 400, 200, 2, 3.0, scores)])
    assert (s.found, s.gt_hands) == (1, 2)
    assert s.pck[0.1] == pytest.approx(0.5)  # the missed hand's keypoints count as misses
    assert s.mean_error_px == pytest.approx(np.sqrt(2))  # over found hands only
    # without a distance limit the far prediction is matched to the remaining hand
    assert len(ev.match_hands([b + 1, make_hand(2000, 2000)], [a, b], max_mean_error=None)) == 2


def test_unannotated_keypoints_are_ignored() -> None:
    gt = make_hand()
    gt[5:9] = np.nan
    pred = make_hand() + 4.0
    pred[5:9] += 1000.0  # wildly wrong where there is no truth
    (h,) = ev.score_image([pred], [gt])
    assert h.valid.sum() == 17
    assert h.mean_error == pytest.approx(4 * np.sqrt(2))
    assert h.pck(0.1) == 1.0


def test_pad_sample_shifts_ground_truth_and_image() -> None:
    img = np.zeros((20, 30, 3), np.uint8)
    img[5, 7] = 255
    gt = np.full((21, 2), [7.0, 5.0])
    gt[3] = np.nan
    s = ev.pad_sample(ev.Sample(img, [gt], "n"), 10)
    assert s.image.shape == (40, 50, 3)
    assert s.image[15, 17].tolist() == [255, 255, 255] and s.image.sum() == 3 * 255
    np.testing.assert_array_equal(s.hands[0][0], [17.0, 15.0])
    assert np.isnan(s.hands[0][3]).all()
    assert gt[0].tolist() == [7.0, 5.0]  # input untouched
    assert ev.pad_sample(s, 0) is s
    with pytest.raises(ValueError):
        ev.pad_sample(s, -1)


def test_evaluate_times_and_groups_with_a_fake_tracker() -> None:
    gt = make_hand()

    class Fake:
        def process(self, image: np.ndarray) -> list[np.ndarray]:
            return [gt + 1.0] if image.mean() > 0 else []

    samples = [
        ev.Sample(np.ones((8, 8, 3), np.uint8), [gt], "setA/1.jpg"),
        ev.Sample(np.zeros((8, 8, 3), np.uint8), [gt], "setB/2.jpg"),
    ]
    seen: list[str] = []
    recs = ev.evaluate(Fake(), samples, on_record=lambda r: seen.append(r.name))
    assert seen == ["setA/1.jpg", "setB/2.jpg"]
    assert [r.num_pred for r in recs] == [1, 0] and all(r.ms >= 0 for r in recs)
    groups = ev.summarize_groups(recs)
    assert groups["setA"].found_rate == 1.0 and groups["setB"].found_rate == 0.0
    d = recs[0].to_dict()
    assert d["hands"][0]["pred_index"] == 0 and d["hands"][0]["pck@0.1"] == 1.0
    assert recs[1].to_dict()["hands"][0]["mean_error_px"] is None
    table = ev.format_table(groups)
    lines = table.splitlines()
    assert lines[0].startswith("| input | images | hands found | PCK@0.1 | PCK@0.2 |")
    assert "| setA | 1 | 100.0% (1/1) | 100.0% | 100.0% | 1.41 |" in table
    assert "| setB | 1 | 0.0% (0/1) | 0.0% | 0.0% | - |" in table


def test_summarize_empty() -> None:
    s = ev.summarize([])
    assert s.images == 0 and s.gt_hands == 0 and np.isnan(s.found_rate)


# ------------------------------------------------------------------------------------- shared data


def test_hand_graph_cnn_loader(data_dir: Path) -> None:
    samples = list(ev.load_hand_graph_cnn(data_dir))
    assert len(samples) == 150
    for img, hands, name in samples[:10]:
        assert img.shape == (256, 256, 3) and img.dtype == np.uint8
        assert len(hands) == 1 and hands[0].shape == (21, 2) and name.startswith("hand-graph-cnn/")


def test_mmpose_loader(data_dir: Path) -> None:
    samples = list(ev.load_mmpose(data_dir))
    by_subset: dict[str, list[ev.Sample]] = {}
    for s in samples:
        by_subset.setdefault(s.name.split("/")[0], []).append(s)
    assert set(by_subset) == set(ev.MMPOSE_SUBSETS)
    assert len(by_subset["freihand"]) == 8
    # Panoptic: two pictures, each annotated once per hand, merged into one sample with both hands
    assert [len(s.hands) for s in by_subset["panoptic"]] == [2, 2]
    # InterHand2.6M: projected 3D joints fall inside the image
    for img, hands, _ in by_subset["interhand2.6m"] + by_subset["coco_wholebody"]:
        for h in hands:
            xy = h[~np.isnan(h).any(axis=1)]
            assert len(xy) > 0
            assert (
                (xy >= -2).all()
                and (xy[:, 0] <= img.shape[1] + 2).all()
                and (xy[:, 1] <= img.shape[0] + 2).all()
            )
    assert sum(len(s.hands) for s in by_subset["interhand2.6m"]) == 6
    with pytest.raises(ValueError):
        next(ev.load_mmpose(data_dir, subsets=["nope"]))
