"""Finger states: synthetic hands (every state, invariances) and MediaPipe's landmarks of real photos."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from handtrace import fingers
from handtrace.fingers import (
    CURLED as CURLED_STATE,
)
from handtrace.fingers import (
    EXTENDED,
    FINGER_NAMES,
    HALF_BENT,
    THUMB_ACROSS,
    THUMB_OPEN,
    THUMB_TOUCHING,
    FingerFeatures,
    _reference_features,
    direction_name,
    direction_score,
    finger_features,
    hand_features,
    handedness_sign,
)
from synthetic_hands import CURLED, SyntheticHand, back_view, gesture_pose, make_hand, point, transform

FIXTURE = Path(__file__).parent / "fixtures" / "mediapipe_0.10.21_still.json"


def feats(h):
    return finger_features(h.landmarks, h.world_landmarks, h.handedness)


def test_open_hand_all_extended_fist_all_curled():
    f = feats(make_hand({}, thumb="open"))
    assert list(f.state) == [EXTENDED] * 5
    assert f.thumb_state == THUMB_OPEN
    assert np.all(f.curl[1:] < 0.35)
    g = feats(make_hand(CURLED, thumb="over_fist"))
    assert list(g.state[1:]) == [CURLED_STATE] * 4
    assert np.all(g.curl[1:] > 0.9)
    assert g.thumb_state != THUMB_OPEN


def test_memberships_sum_to_one_and_follow_the_bend():
    curls = np.linspace(0, 1, 11)
    bends, ext, cur = [], [], []
    for c in curls:
        f = feats(make_hand({"middle": float(c)}))
        bends.append(f.bend[2])
        ext.append(f.membership[2, 0])
        cur.append(f.membership[2, 2])
        assert f.membership.sum(-1) == pytest.approx(np.ones(5))
        assert np.all(f.membership >= 0)
    # More curl: more bend, less "extended", more "curled".
    assert np.all(np.diff(bends) > 0)
    assert np.all(np.diff(ext) <= 1e-12) and np.all(np.diff(cur) >= -1e-12)
    assert ext[0] == 1 and cur[-1] == 1


def test_half_bent_and_claw_are_not_extended():
    f = feats(make_hand({"index": 0.45, "middle": 0.45, "ring": 0.45, "pinky": 0.45}))
    assert list(f.state[1:]) == [HALF_BENT] * 4
    # A claw: knuckles straight, the two finger joints bent. The chord may point forward, but the
    # finger is not straight, so it must not count as extended.
    h = make_hand({})
    w = h.world_landmarks.copy()
    for base in (5, 9, 13, 17):
        d = w[base + 1] - w[base]
        # Fold PIP and DIP by ~60 degrees each towards the palm side (-z).
        n = np.array([0.0, 0.0, -np.linalg.norm(d)])
        w[base + 2] = w[base + 1] + 0.8 * (0.5 * d + 0.85 * n)
        w[base + 3] = w[base + 2] + 0.7 * (-0.5 * d + 0.85 * n)
    f = finger_features(h.landmarks, w, "Right")
    assert np.all(f.membership[1:, EXTENDED] < 0.2)


@pytest.mark.parametrize("angle", [0, 45, 90, 135, 180, 250, 315])
@pytest.mark.parametrize("mirror", [False, True])
def test_states_invariant_to_rotation_scale_size_and_mirroring(angle, mirror):
    for name in ("Open_Palm", "Closed_Fist", "Victory", "Rock", "Call", "OK"):
        base = feats(gesture_pose(name))
        h = transform(gesture_pose(name), angle=angle, scale=0.3 if mirror else 3.0, mirror=mirror, size=1.2)
        f = feats(h)
        assert np.array_equal(f.state, base.state), name
        assert f.thumb_state == base.thumb_state, name
        np.testing.assert_allclose(f.bend, base.bend, atol=1e-6)
        np.testing.assert_allclose(f.tip_distance, base.tip_distance, atol=1e-6)
        assert np.sign(f.palm_facing) == np.sign(base.palm_facing)


def test_small_noise_keeps_states():
    for name in ("Open_Palm", "Closed_Fist", "Four", "Pointing_Up"):
        base = feats(gesture_pose(name))
        for seed in range(5):
            f = feats(transform(gesture_pose(name), noise=1.0, seed=seed))
            # Index..pinky and the thumb's position; the thumb's own bend in a fist sits on a boundary.
            assert np.array_equal(f.state[1:], base.state[1:]), (name, seed)
            assert f.thumb_state == base.thumb_state, (name, seed)


def test_batch_equals_single():
    hands = [transform(gesture_pose(n), angle=a) for n, a in (("Open_Palm", 10), ("Rock", 200), ("OK", 90))]
    lm = np.stack([h.landmarks for h in hands])
    world = np.stack([h.world_landmarks for h in hands])
    batch = finger_features(lm, world, [h.handedness for h in hands])
    assert batch.state.shape == (3, 5) and len(batch) == 3
    for i, h in enumerate(hands):
        one = feats(h)
        np.testing.assert_allclose(batch[i].bend, one.bend)
        np.testing.assert_allclose(batch[i].thumb_open, one.thumb_open)
        assert batch[i].thumb_state == one.thumb_state


def test_thumb_states():
    assert feats(make_hand({}, thumb="open")).thumb_state == THUMB_OPEN
    assert feats(make_hand({}, thumb="across")).thumb_state == THUMB_ACROSS
    ok = feats(gesture_pose("OK"))
    assert ok.thumb_state == THUMB_TOUCHING
    assert ok.thumb_touch.argmax() == 0  # the index tip
    assert ok.tip_distance[0, 1] < 0.2
    # A thumb tucked over a fist is not open, even though it is straight-ish.
    assert feats(make_hand(CURLED, thumb="over_fist")).thumb_open < 0.5


def test_palm_facing_and_handedness():
    front = feats(make_hand({}))
    back = feats(back_view(make_hand({})))
    assert front.palm_facing > 0.8 and back.palm_facing < -0.8
    # A mirrored photo flips both the image and the handedness: the palm still faces the camera.
    assert feats(transform(make_hand({}), mirror=True)).palm_facing > 0.8
    # Unknown handedness: no claim.
    h = make_hand({})
    assert finger_features(h.landmarks, h.world_landmarks, None).palm_facing == 0


def test_directions():
    up = feats(point(make_hand(CURLED, thumb="open"), "thumb", "up"))
    assert direction_name(up.finger_direction[0]) == "up"
    down = feats(point(make_hand(CURLED, thumb="open"), "thumb", "down"))
    assert direction_name(down.finger_direction[0]) == "down"
    left = feats(point(make_hand({}), "index", "left"))
    assert direction_name(left.finger_direction[1]) == "left"
    names = direction_name(np.array([[0, -1], [1, 0.2], [0.1, 1], [-1, 0]]))
    assert list(names) == ["up", "right", "down", "left"]
    assert direction_score(np.array([0.0, -2.0]), "up") == pytest.approx(1.0)
    with pytest.raises(ValueError):
        direction_score(np.array([0.0, 1.0]), "north")


def test_image_landmarks_alone_work():
    # No world landmarks (or an all-zero placeholder): the image landmarks' 3D is used.
    for name in ("Open_Palm", "Closed_Fist", "Victory"):
        h = gesture_pose(name)
        a = finger_features(h.landmarks, None, h.handedness)
        b = finger_features(h.landmarks, np.zeros((21, 3)), h.handedness)
        assert np.array_equal(a.state, feats(h).state)
        np.testing.assert_allclose(a.bend, b.bend)


def test_handedness_sign_and_errors():
    assert handedness_sign("Right") == 1 and handedness_sign("left") == -1 and handedness_sign("?") == 0
    assert list(handedness_sign(["Left", "Right", "x"], (3,))) == [-1, 1, 0]
    assert list(handedness_sign(np.array([-2.0, 3.0]), (2,))) == [-1, 1]
    with pytest.raises(ValueError):
        finger_features(np.zeros((20, 3)))


def test_to_dict_and_hand_features():
    hand = gesture_pose("Victory").hand()
    f = hand_features(hand)
    d = f.to_dict()
    assert set(d["fingers"]) == set(FINGER_NAMES)
    assert d["fingers"]["index"]["state"] == "extended" and d["fingers"]["ring"]["state"] == "curled"
    assert d["palm_facing"] == "camera"
    assert json.loads(json.dumps(d)) == d
    with pytest.raises(ValueError):
        finger_features(np.stack([hand.landmarks] * 2)).to_dict()


def _mediapipe_hands(prefix: str) -> list[dict]:
    data = json.loads(FIXTURE.read_text())["images"]
    return [h for k, v in data.items() if k.startswith(prefix) for h in v["hands"]]


def random_hands(count: int, seed: int) -> list[SyntheticHand]:
    """Varied synthetic hands: random curls, every thumb pose, back views, rotations, mirroring, noise."""
    rng = np.random.default_rng(seed)
    thumbs = ["open", "side", "across", "over_fist"] + [f"touch_{f}" for f in FINGER_NAMES[1:]]
    out = []
    for i in range(count):
        curls = {f: float(rng.choice([0.0, 1.0, rng.uniform(0, 1)])) for f in FINGER_NAMES[1:]}
        h = make_hand(curls, thumb=thumbs[i % len(thumbs)], spread=rng.uniform(0, 3))
        h = back_view(h) if rng.random() < 0.3 else h
        out.append(transform(h, angle=rng.uniform(-180, 180), scale=rng.uniform(0.3, 3),
                             mirror=bool(rng.random() < 0.5), noise=rng.uniform(0, 8),
                             size=rng.uniform(0.7, 1.3), seed=i))
    return out


def assert_same_features(a: FingerFeatures, b: FingerFeatures) -> None:
    """Every field the same floats, shapes, dtypes and types (a plain number or an array)."""
    for field in dataclasses.fields(FingerFeatures):
        x, y = getattr(a, field.name), getattr(b, field.name)
        assert type(x) is type(y), field.name
        np.testing.assert_array_equal(x, y, err_msg=field.name, strict=True)


@pytest.mark.parametrize("world", ["given", "none", "zeros"])
def test_batched_features_equal_the_reference_formulas(world):
    hands = random_hands(48, seed=3)
    point_hand = make_hand({})  # degenerate: every landmark in one place (zero-length vectors)
    point_hand.landmarks[:] = point_hand.landmarks[0]
    point_hand.world_landmarks[:] = point_hand.world_landmarks[0]
    hands.append(point_hand)
    lm = np.stack([h.landmarks for h in hands])
    given = np.stack([h.world_landmarks for h in hands])
    wl = {"given": given, "none": None, "zeros": np.zeros(lm.shape)}[world]
    side = [h.handedness for h in hands]
    side[0], side[1] = "unknown", "LEFT"
    assert_same_features(finger_features(lm, wl, side), _reference_features(lm, wl, side))
    numbers = np.tile([1.0, -1.0, 0.0], 17)[: len(hands)]
    assert_same_features(finger_features(lm, wl, numbers), _reference_features(lm, wl, numbers))
    assert_same_features(finger_features(lm, wl), _reference_features(lm, wl))
    # One hand at a time, and extra batch axes.
    for i in range(0, len(hands), 7):
        one = None if wl is None else wl[i]
        assert_same_features(finger_features(lm[i], one, side[i]), _reference_features(lm[i], one, side[i]))
    grid = None if wl is None else wl[:6].reshape(2, 3, 21, 3)
    assert_same_features(finger_features(lm[:6].reshape(2, 3, 21, 3), grid, "Right"),
                         _reference_features(lm[:6].reshape(2, 3, 21, 3), grid, "Right"))
    empty = finger_features(lm[:0], None if wl is None else wl[:0], [])
    assert empty.state.shape == (0, 5) and empty.membership.shape == (0, 5, 3)


def test_tuned_thresholds_take_effect(monkeypatch):
    """The batched path caches its ramp table; changed module constants must still apply."""
    hands = random_hands(12, seed=5)
    lm = np.stack([h.landmarks for h in hands])
    wl = np.stack([h.world_landmarks for h in hands])
    side = [h.handedness for h in hands]
    before = finger_features(lm, wl, side)
    monkeypatch.setattr(fingers, "STRAIGHT_RANGE", (40.0, 60.0))
    monkeypatch.setattr(fingers, "TOUCH_RANGE", (0.4, 0.6))
    monkeypatch.setattr(fingers, "BEND_RAMPS", fingers.BEND_RAMPS.copy())
    fingers.BEND_RAMPS[1:, :2] = (30.0, 40.0)  # edited in place, too
    tuned = finger_features(lm, wl, side)
    assert_same_features(tuned, _reference_features(lm, wl, side))
    assert not np.array_equal(tuned.membership, before.membership)
    monkeypatch.undo()
    assert_same_features(finger_features(lm, wl, side), before)


@pytest.mark.skipif(not FIXTURE.is_file(), reason="MediaPipe reference fixture missing")
def test_real_four_and_rock_hands():
    """MediaPipe's own landmarks of the model-maker photos: four fingers up; horns."""
    for h in _mediapipe_hands("mediapipe-model-maker-gestures/four/"):
        f = finger_features(np.array(h["landmarks_px"]), np.array(h["world_m"]), h["handedness"])
        assert list(f.state[1:]) == [EXTENDED] * 4
        assert f.thumb_state == THUMB_ACROSS
        assert f.palm_facing > 0.5  # these photos show the palm
    for h in _mediapipe_hands("mediapipe-model-maker-gestures/rock/"):
        f = finger_features(np.array(h["landmarks_px"]), np.array(h["world_m"]), h["handedness"])
        assert f.membership[1, EXTENDED] > 0.5 and f.membership[4, EXTENDED] > 0.5
        assert f.membership[2, EXTENDED] == 0 and f.membership[3, EXTENDED] == 0


@pytest.mark.skipif(not FIXTURE.is_file(), reason="MediaPipe reference fixture missing")
def test_real_thumbs_up_hands():
    for key in ("mediapipe-samples/gesture_thumb_up.jpg", "mediapipe-samples/ios_thumbs-up.png",
                "mediapipe-rs/thumbs_up.jpg"):
        for h in _mediapipe_hands(key):
            f = finger_features(np.array(h["landmarks_px"]), np.array(h["world_m"]), h["handedness"])
            assert f.thumb_state == THUMB_OPEN
            assert np.all(f.membership[1:, CURLED_STATE] > 0.5)
            assert direction_name(f.finger_direction[0]) == "up"
