"""Finger states from the 21 landmarks of a hand.

Everything here is vectorised numpy over one hand ``(21, 3)`` or a batch ``(N, 21, 3)``. Finger bend and
thumb position come from 3D angles and from distances in palm sizes, so they do not change with image
rotation, hand size or left/right hand. Bends come from the world landmarks (metres) when given: the
model's metric 3D is not foreshortened by perspective or by the hand's tilt. Distances and the thumb's
position combine the world and the image landmarks (two estimates with different failure modes, see
:func:`finger_features`). Only *directions* (where a finger points) are image-only: "up" is image up.

The model:

* **bend** of a finger: the 3D angle between its metacarpal (wrist -> MCP; for the thumb CMC -> MCP) and
  the chord from its MCP to its tip, in degrees. A straight finger is near 0, a curled one above 90. The
  chord sums the three joints' flexion into the one thing that matters for gestures (where the tip
  went) and is robust to the model's jitter at a single joint.
* fuzzy memberships ``extended`` / ``half_bent`` / ``curled`` (summing to 1) from piecewise-linear ramps on
  the bend (``BEND_RAMPS``); the discrete state is the largest membership, the continuous ``curl`` a ramp
  from straight to fully curled.
* the **thumb** in the palm's own frame (x towards the thumb side, y along wrist -> middle MCP, z out of
  the palm's inner side), measured from the index base in palm sizes: ``open`` (straight, out past the
  index base and clear of the index and middle fingers' joints), ``across`` (tip over the palm, on the
  pinky side of the index base), ``touching`` (tip on another fingertip) or else ``folded``.
* **directions**: unit 2D image vectors (x right, y down) of the hand (wrist -> middle MCP) and of each
  finger (MCP -> tip), named ``up`` / ``right`` / ``down`` / ``left``.
* **palm facing**: +1 when the palm faces the camera, -1 when the back of the hand does (needs handedness,
  as given by the tracker for a non-mirrored image: a mirrored image flips both, so the result holds).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

FINGER_NAMES: tuple[str, ...] = ("thumb", "index", "middle", "ring", "pinky")
#: Per finger: wrist, then its four points from base to tip.
_CHAINS = np.array(
    [[0, 1, 2, 3, 4], [0, 5, 6, 7, 8], [0, 9, 10, 11, 12], [0, 13, 14, 15, 16], [0, 17, 18, 19, 20]]
)
_BASES = np.array([1, 0, 0, 0, 0])  # start of the metacarpal: thumb CMC, wrist for the others
_MCPS = np.array([2, 5, 9, 13, 17])
TIPS = np.array([4, 8, 12, 16, 20])

#: Finger state codes (index into ``STATE_NAMES``).
EXTENDED, HALF_BENT, CURLED = 0, 1, 2
STATE_NAMES: tuple[str, ...] = ("extended", "half_bent", "curled")
#: Thumb state codes (index into ``THUMB_STATE_NAMES``).
THUMB_OPEN, THUMB_FOLDED, THUMB_ACROSS, THUMB_TOUCHING = 0, 1, 2, 3
THUMB_STATE_NAMES: tuple[str, ...] = ("open", "folded", "across", "touching")
DIRECTION_NAMES: tuple[str, ...] = ("up", "right", "down", "left")
_DIRECTION_VECTORS = {"up": (0.0, -1.0), "down": (0.0, 1.0), "left": (-1.0, 0.0), "right": (1.0, 0.0)}

#: Bend ramps in degrees per finger: extended fully below [0], not at all above [1]; curled not at all
#: below [2], fully above [3]. Measured on MediaPipe world landmarks of real photos: straight fingers
#: 0-55 (the model often bends a flat hand's fingers 40-55 at the knuckles; a finger leaning towards
#: the camera reaches 50), relaxed ones 55-80, curled ones 85-155.
#: The thumb's chord bends less: open thumbs 5-25, thumbs folded over the palm 30-65.
BEND_RAMPS = np.array(
    [
        [25.0, 45.0, 50.0, 70.0],  # thumb
        [50.0, 75.0, 70.0, 90.0],  # index
        [50.0, 75.0, 70.0, 90.0],  # middle
        [50.0, 75.0, 70.0, 90.0],  # ring
        [50.0, 75.0, 70.0, 90.0],  # pinky
    ]
)
#: PIP + DIP flexion (degrees) over which a finger goes from straight to not straight. Extended fingers
#: measure 20-70 (the model's world landmarks rarely put a finger perfectly straight), claws 75-120.
STRAIGHT_RANGE = (65.0, 95.0)
#: Bend at which ``curl`` is 0 and 1.
CURL_RANGE = np.array([[10.0, 70.0], [15.0, 110.0], [15.0, 110.0], [15.0, 110.0], [15.0, 110.0]])
#: Thumb tip to another fingertip, in palm sizes: touching fully below the first, not above the second.
#: (Tip landmarks sit at the very ends of the fingers, beyond the pads that touch: touching tips
#: measure 0.1-0.3 palm sizes apart.)
TOUCH_RANGE = (0.22, 0.35)
#: Thumb tip past the index base towards the thumb side (palm sizes): not open below, open above.
THUMB_OUT_RANGE = (0.15, 0.35)
#: Thumb tip's distance from the index and middle fingers' PIP/DIP joints (palm sizes): a thumb tucked
#: over a fist lies on them (0.05-0.25), an open one is well clear (0.6 and more).
THUMB_CLEAR_RANGE = (0.3, 0.5)
#: Thumb tip towards the pinky side of the index base (palm sizes): not across below, across above.
THUMB_ACROSS_RANGE = (0.05, 0.25)


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-12)


def ramp(x: Any, lo: Any, hi: Any) -> np.ndarray:
    """0 at or below ``lo``, 1 at or above ``hi``, linear between (``lo > hi`` gives a falling ramp)."""
    x, lo, hi = (np.asarray(a, np.float64) for a in (x, lo, hi))
    span = np.where(np.abs(hi - lo) < 1e-9, 1e-9, hi - lo)
    return np.clip((x - lo) / span, 0.0, 1.0)


def _angle(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angle in degrees between vectors along the last axis."""
    cos = np.sum(_unit(a) * _unit(b), axis=-1)
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def handedness_sign(handedness: Any, shape: tuple[int, ...] = ()) -> np.ndarray:
    """+1 for "Right", -1 for "Left", 0 when unknown; takes a string, a sequence of them, or numbers."""
    if handedness is None:
        return np.zeros(shape)
    if isinstance(handedness, str):
        return np.full(shape, {"right": 1.0, "left": -1.0}.get(handedness.lower(), 0.0))
    arr = np.asarray(handedness)
    if arr.dtype.kind in "USO":
        lower = np.char.lower(arr.astype(str))
        return np.broadcast_to(np.where(lower == "right", 1.0, np.where(lower == "left", -1.0, 0.0)), shape)
    return np.broadcast_to(np.sign(arr.astype(np.float64)), shape)


@dataclass
class FingerFeatures:
    """Finger states of one hand (leading shape ``()``) or of a batch (leading shape ``(N,)``).

    Attributes:
        bend: (..., 5) metacarpal-to-chord angle per finger, degrees (0 = straight).
        curl: (..., 5) continuous curl in [0, 1] (0 straight, 1 fully curled).
        membership: (..., 5, 3) fuzzy memberships (extended, half_bent, curled), summing to 1.
        state: (..., 5) state codes (``EXTENDED``, ``HALF_BENT``, ``CURLED``).
        joint_angles: (..., 5, 3) flexion at each finger's three joints, degrees (thumb: CMC, MCP, IP).
        thumb_open: (...) in [0, 1]: thumb straight and out past the index base.
        thumb_across: (...) in [0, 1]: thumb tip over the palm, on the pinky side of the index base.
        thumb_touch: (..., 4) in [0, 1]: thumb tip touching the tip of the index, middle, ring, pinky.
        thumb_state: (...) thumb state code (``THUMB_OPEN``, ``THUMB_FOLDED``, ``THUMB_ACROSS``,
            ``THUMB_TOUCHING``).
        thumb_position: (..., 3) thumb tip minus index base in the palm frame, palm sizes: (towards the
            thumb side, along wrist -> middle MCP, out of the palm's inner side; 0 if handedness is unknown).
        tip_distance: (..., 5, 5) distances between fingertips, palm sizes (3D).
        palm_size: (...) mean wrist-to-finger-base (MCP) distance in the 3D units used (metres or pixels).
        hand_direction: (..., 2) unit image vector wrist -> middle MCP (x right, y down).
        finger_direction: (..., 5, 2) unit image vectors MCP -> tip.
        palm_facing: (...) in [-1, 1]: +1 palm towards the camera, -1 away; 0 when handedness is unknown.
    """

    bend: np.ndarray
    curl: np.ndarray
    membership: np.ndarray
    state: np.ndarray
    joint_angles: np.ndarray
    thumb_open: np.ndarray
    thumb_across: np.ndarray
    thumb_touch: np.ndarray
    thumb_state: np.ndarray
    thumb_position: np.ndarray
    tip_distance: np.ndarray
    palm_size: np.ndarray
    hand_direction: np.ndarray
    finger_direction: np.ndarray
    palm_facing: np.ndarray

    def __getitem__(self, idx: Any) -> FingerFeatures:
        """Index a batch: ``features[i]`` holds hand ``i``."""
        return FingerFeatures(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})

    def __len__(self) -> int:
        if self.state.ndim < 2:
            raise TypeError("features of one hand have no length")
        return int(self.state.shape[0])

    def states(self) -> dict[str, str]:
        """State name per finger (one hand)."""
        self._check_single()
        return {n: STATE_NAMES[int(s)] for n, s in zip(FINGER_NAMES, self.state, strict=True)}

    def thumb(self) -> str:
        """Thumb state name (one hand)."""
        self._check_single()
        return THUMB_STATE_NAMES[int(self.thumb_state)]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description of one hand."""
        self._check_single()
        facing = float(self.palm_facing)
        return {
            "fingers": {
                name: {"state": STATE_NAMES[int(s)], "curl": round(float(c), 3)}
                for name, s, c in zip(FINGER_NAMES, self.state, self.curl, strict=True)
            },
            "thumb": self.thumb(),
            "direction": direction_name(self.hand_direction),
            "pointing": direction_name(self.finger_direction[1]),
            "palm_facing": "camera" if facing > 0 else ("away" if facing < 0 else "unknown"),
            "palm_facing_score": round(facing, 3),
        }

    def _check_single(self) -> None:
        if self.state.ndim != 1:
            raise ValueError("this describes one hand; index the batch first")


def finger_index(finger: int | str) -> int:
    """Index 0-4 of a finger given by name (``thumb`` ... ``pinky``) or index."""
    return FINGER_NAMES.index(finger) if isinstance(finger, str) else int(finger)


def _usable_world(world: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    """World landmarks if given with the landmarks' shape and not all zero (a placeholder)."""
    if world is None:
        return None
    world = np.asarray(world, np.float64)
    if world.shape != shape or not world.any():
        return None
    return world


def _bend(pts: np.ndarray) -> np.ndarray:
    """Metacarpal direction against the MCP -> tip chord, degrees, (..., 5)."""
    metacarpal = pts[..., _MCPS, :] - pts[..., _BASES, :]
    chord = pts[..., TIPS, :] - pts[..., _MCPS, :]
    return _angle(metacarpal, chord)


def _palm_size(pts: np.ndarray) -> np.ndarray:
    """Mean wrist-to-MCP distance, (...)."""
    return np.linalg.norm(pts[..., [5, 9, 13, 17], :] - pts[..., None, 0, :], axis=-1).mean(-1)


def _thumb_geometry(pts: np.ndarray, side: np.ndarray) -> tuple[np.ndarray, ...]:
    """Palm size, palm normal, thumb tip in the palm frame and its clearance from the fingers.

    The palm frame: u towards the thumb side, v along wrist -> middle MCP, n out of the palm's inner
    side (zero when handedness is unknown). The thumb tip is measured from the index base, and its
    clearance is its distance to the nearest PIP/DIP joint of the index and middle fingers (a thumb
    tucked over a fist lies on those), both in palm sizes.
    """
    palm_size = _palm_size(pts)
    ps = np.maximum(palm_size, 1e-12)[..., None]
    wrist = pts[..., 0, :]
    v = _unit(pts[..., 9, :] - wrist)
    across = pts[..., 5, :] - pts[..., 17, :]
    u = _unit(across - np.sum(across * v, -1, keepdims=True) * v)
    # u x v points out of the palm of a right hand and out of the back of a left one.
    n = np.cross(u, v) * side[..., None]
    rel = pts[..., 4, :] - pts[..., 5, :]
    position = np.stack([np.sum(rel * u, -1), np.sum(rel * v, -1), np.sum(rel * n, -1)], -1) / ps
    gaps = np.linalg.norm(pts[..., [6, 7, 10, 11], :] - pts[..., None, 4, :], axis=-1)
    clearance = gaps.min(-1) / ps[..., 0]
    return palm_size, n, position, clearance


def _tip_distance(pts: np.ndarray) -> np.ndarray:
    """Distances between fingertips in palm sizes, (..., 5, 5)."""
    palm = _palm_size(pts)
    tips = pts[..., TIPS, :]
    d = np.linalg.norm(tips[..., :, None, :] - tips[..., None, :, :], axis=-1)
    return d / np.maximum(palm, 1e-12)[..., None, None]


def _reference_features(
    landmarks: np.ndarray, world_landmarks: np.ndarray | None = None, handedness: Any = None
) -> FingerFeatures:
    """:func:`finger_features` written feature by feature: the readable statement of the formulas, which
    the batched :func:`_features` must reproduce float for float (the tests compare them).
    """
    img = np.asarray(landmarks, np.float64)
    if img.shape[-2:] != (21, 3):
        raise ValueError(f"expected (..., 21, 3) landmarks, got {img.shape}")
    world = _usable_world(world_landmarks, img.shape)
    pts = world if world is not None else img
    side = handedness_sign(handedness, img.shape[:-2])

    # Bends come from the world landmarks when given: the image z flattens relaxed and curled fingers
    # (a resting hand reads as open), while the world model errs the safe way (a flat hand facing the
    # camera may read as half bent, hence None rather than a wrong gesture).
    bend = _bend(pts)
    bones = np.diff(pts[..., _CHAINS, :], axis=-2)  # (..., 5, 4, 3)
    joint_angles = _angle(bones[..., :-1, :], bones[..., 1:, :])
    r = BEND_RAMPS
    # Extended: the finger points along its metacarpal AND is straight in itself (PIP + DIP small); the
    # second test rejects a claw, whose chord can point forward while both finger joints are bent.
    straight = 1.0 - ramp(joint_angles[..., 1:].sum(-1), *STRAIGHT_RANGE)
    straight[..., 0] = 1.0  # the thumb's chord test covers both its joints
    ext = np.minimum(1.0 - ramp(bend, r[:, 0], r[:, 1]), straight)
    cur = ramp(bend, r[:, 2], r[:, 3])
    membership = np.stack([ext, 1.0 - ext - cur, cur], axis=-1)
    state = membership.argmax(-1)
    curl = ramp(bend, CURL_RANGE[:, 0], CURL_RANGE[:, 1])

    palm_size, n, thumb_position, clearance = _thumb_geometry(pts, side)
    tip_distance = _tip_distance(pts)
    out_x = thumb_position[..., 0]
    if world is not None:
        # Two estimates of the same hand: world landmarks (metric 3D) and image landmarks (precise x, y;
        # weaker z). Each fails on its own in known cases: the world model can swing a thumb tucked
        # over a fist far out to the side, the image z can flatten a curl. Report their mean, and call
        # the thumb open only when both views see it out and clear of the fingers.
        _, _, pos_i, clear_i = _thumb_geometry(img, side)
        out_x = np.minimum(out_x, pos_i[..., 0])
        clearance = np.minimum(clearance, clear_i)
        thumb_position = 0.5 * (thumb_position + pos_i)
        tip_distance = 0.5 * (tip_distance + _tip_distance(img))
    thumb_touch = 1.0 - ramp(tip_distance[..., 0, 1:], *TOUCH_RANGE)
    thumb_open = np.minimum(
        ext[..., 0], np.minimum(ramp(out_x, *THUMB_OUT_RANGE), ramp(clearance, *THUMB_CLEAR_RANGE))
    )
    thumb_across = ramp(-thumb_position[..., 0], *THUMB_ACROSS_RANGE)
    thumb_state = np.where(
        thumb_touch.max(-1) >= 0.5,
        THUMB_TOUCHING,
        np.where(thumb_open >= 0.5, THUMB_OPEN, np.where(thumb_across >= 0.5, THUMB_ACROSS, THUMB_FOLDED)),
    )

    xy = img[..., :2]
    hand_direction = _unit(xy[..., 9, :] - xy[..., 0, :])
    finger_direction = _unit(xy[..., TIPS, :] - xy[..., _MCPS, :])
    # The palm's outward normal points towards the camera (negative z) when the palm faces it.
    palm_facing = np.clip(-n[..., 2], -1.0, 1.0)

    return FingerFeatures(
        bend=bend,
        curl=curl,
        membership=membership,
        state=state,
        joint_angles=joint_angles,
        thumb_open=thumb_open,
        thumb_across=thumb_across,
        thumb_touch=thumb_touch,
        thumb_state=thumb_state,
        thumb_position=thumb_position,
        tip_distance=tip_distance,
        palm_size=palm_size,
        hand_direction=hand_direction,
        finger_direction=finger_direction,
        palm_facing=palm_facing,
    )


def _vector_table() -> tuple[np.ndarray, np.ndarray]:
    """Start and end landmark of every difference vector the features need (see the ``_V_*`` offsets)."""
    frm: list[int] = []
    to: list[int] = []
    for chain in _CHAINS:  # bones: 4 per finger, wrist (thumb: CMC) outwards
        frm += chain[:-1].tolist()
        to += chain[1:].tolist()
    frm += [0, *_MCPS.tolist()]  # wrist -> middle MCP (the hand), then each finger's chord MCP -> tip
    to += [9, *TIPS.tolist()]
    frm += [17, 5, 4, 4, 4, 4]  # across the palm; index base -> thumb tip; thumb tip -> index/middle PIP, DIP
    to += [5, 4, 6, 7, 10, 11]
    for i in TIPS:  # tip i - tip j, all 25 pairs (so the (5, 5) matrix is one reshape)
        for j in TIPS:
            frm.append(int(j))
            to.append(int(i))
    frm += [0, 0, 0, 0]  # palm spokes: wrist -> index, middle, ring, pinky MCP (copies of bones, contiguous)
    to += [5, 9, 13, 17]
    return np.array(frm), np.array(to)


_V_FROM, _V_TO = _vector_table()
_V_HAND, _V_CHORD, _V_ACROSS, _V_REL = 20, 21, 26, 27
_V_DIRS = slice(20, 26)  # hand, then each finger's chord: the image directions
_V_GAPS, _V_TIPS, _V_SPOKES = slice(28, 32), slice(32, 57), slice(57, 61)
#: Vector pairs whose angle is wanted: (metacarpal, chord) per finger, then consecutive bones.
_ANGLE_A = [1, 4, 8, 12, 16] + [4 * f + k for f in range(5) for k in range(3)]
_ANGLE_B = list(range(_V_CHORD, _V_CHORD + 5)) + [4 * f + k + 1 for f in range(5) for k in range(3)]
_ANGLE_VECS = np.array(_ANGLE_A + _ANGLE_B)
#: The cross product u x v as ``g[0] * g[1] - g[2] * g[3]`` with ``g = concat(u, v)[:, _CROSS]``: the
#: arithmetic of np.cross (a1 b2 - a2 b1, ...), without its per-call overhead.
_CROSS = np.array([[1, 2, 0], [5, 3, 4], [2, 0, 1], [4, 5, 3]])
_SIGNS = {"right": 1.0, "left": -1.0}
#: Thumb state per the first true test of (touching, open, across, always).
_THUMB_PRIORITY = np.array([THUMB_TOUCHING, THUMB_OPEN, THUMB_ACROSS, THUMB_FOLDED])
#: The fields that are plain numbers for one hand (the others stay arrays, as ``FingerFeatures`` documents).
_SCALAR_FIELDS = ("thumb_open", "thumb_across", "palm_size", "palm_facing")
_ramp_cache: tuple[tuple[Any, ...], bytes, np.ndarray, np.ndarray] | None = None


def _ramp_table() -> tuple[np.ndarray, np.ndarray]:
    """``lo`` and ``span`` of every ramp in :func:`_features`, in the column order of its ramp input.

    Rebuilt when a module constant changes, so tuning ``BEND_RAMPS`` etc. at run time still works.
    """
    global _ramp_cache
    consts = (BEND_RAMPS, CURL_RANGE, STRAIGHT_RANGE, TOUCH_RANGE, THUMB_OUT_RANGE, THUMB_CLEAR_RANGE,
              THUMB_ACROSS_RANGE)
    # Rebound constants change identity; the two arrays may also be edited in place.
    values = np.asarray(BEND_RAMPS).tobytes() + np.asarray(CURL_RANGE).tobytes()
    c = _ramp_cache
    if c is None or c[1] != values or any(a is not b for a, b in zip(c[0], consts, strict=True)):
        r, cr = np.asarray(BEND_RAMPS, np.float64), np.asarray(CURL_RANGE, np.float64)
        pairs = (
            [(r[i, 0], r[i, 1]) for i in range(5)]  # extended (falling: 1 - this)
            + [(r[i, 2], r[i, 3]) for i in range(5)]  # curled
            + [(cr[i, 0], cr[i, 1]) for i in range(5)]  # curl
            + [STRAIGHT_RANGE] * 5  # PIP + DIP (not straight)
            + [TOUCH_RANGE] * 4  # thumb tip to the other tips (not touching)
            + [THUMB_OUT_RANGE, THUMB_CLEAR_RANGE, THUMB_ACROSS_RANGE]
        )
        lo = np.array([float(a) for a, _ in pairs])
        hi = np.array([float(b) for _, b in pairs])
        span = np.where(np.abs(hi - lo) < 1e-9, 1e-9, hi - lo)  # as in ramp()
        c = _ramp_cache = (consts, values, lo, span)
    return c[2], c[3]


def _clip01(x: np.ndarray) -> np.ndarray:
    """``np.clip(x, 0, 1)``, the same values, without np.clip's per-call overhead."""
    return np.minimum(np.maximum(x, 0.0), 1.0)


def _side(handedness: Any, shape: tuple[int, ...]) -> np.ndarray:
    """:func:`handedness_sign` as float64 of ``shape``; the tracker's list of strings without np.char."""
    if (isinstance(handedness, (list, tuple)) and len(shape) == 1 and len(handedness) == shape[0]
            and all(isinstance(h, str) for h in handedness)):
        return np.array([_SIGNS.get(h.lower(), 0.0) for h in handedness], np.float64)
    return np.asarray(handedness_sign(handedness, shape), np.float64)


def _features(img: np.ndarray, world: np.ndarray | None, side: np.ndarray) -> dict[str, np.ndarray]:
    """:class:`FingerFeatures` fields of a flat batch: ``img``, ``world`` ``(N, 21, 3)``, ``side`` ``(N,)``.

    The arithmetic is that of the straightforward per-feature formulas (same operations in the same
    order, so the same floats), batched: every difference vector of the world and image landmarks is
    gathered at once, every angle and every ramp is one array operation. Per-call numpy overhead, not
    arithmetic, is the cost at one or two hands.
    """
    n = img.shape[0]
    # Rows: world (if given), image, and the image with z = 0, whose unit vectors are the 2D image
    # directions (x*x + y*y + 0*0 rounds as x*x + y*y, so these are the 2D formulas' floats).
    blocks = (world, img) if world is not None else (img,)
    k = len(blocks) * n  # rows of 3D estimates: world then image, or image alone
    pts = np.concatenate((*blocks, img))
    pts[k:, :, 2] = 0.0
    d = np.take(pts, _V_TO, 1) - np.take(pts, _V_FROM, 1)  # (M, 61, 3); np.take: cheaper than [:, idx]
    norm = np.sqrt(np.add.reduce(d * d, -1))
    unit = d / np.maximum(norm, 1e-12)[..., None]

    # Bends and joint angles: from the world landmarks when given (rows :n either way).
    pair = np.take(unit[:n], _ANGLE_VECS, 1)
    cos = np.add.reduce(pair[:, :20] * pair[:, 20:], -1)
    angles = np.degrees(np.arccos(np.minimum(np.maximum(cos, -1.0), 1.0)))
    bend = angles[:, :5]
    joint_angles = angles[:, 5:].reshape(n, 5, 3)

    # The palm frame and the thumb in it (see _thumb_geometry), for world and image rows at once.
    palm_size = np.add.reduce(norm[:k, _V_SPOKES], -1) / 4.0  # the mean, as ndarray.mean computes it
    ps = np.maximum(palm_size, 1e-12)
    v = unit[:k, _V_HAND]
    across = d[:k, _V_ACROSS]
    u = across - np.add.reduce(across * v, -1)[:, None] * v
    u = u / np.maximum(np.sqrt(np.add.reduce(u * u, -1)), 1e-12)[:, None]
    g = np.take(np.concatenate((u, v), 1), _CROSS, 1)
    normal = (g[:, 0] * g[:, 1] - g[:, 2] * g[:, 3]) * np.concatenate((side,) * len(blocks))[:, None]
    frame = np.concatenate((u[:, None], v[:, None], normal[:, None]), 1)  # (k, 3, 3): u, v, n
    position = np.add.reduce(d[:k, _V_REL, None, :] * frame, -1) / ps[:, None]
    clearance = norm[:k, _V_GAPS].min(-1) / ps
    tips = norm[:k, _V_TIPS].reshape(k, 5, 5) / ps[:, None, None]
    if world is not None:
        # World and image estimates combined: see _reference_features for why.
        out_x = np.minimum(position[:n, 0], position[n:, 0])
        clearance = np.minimum(clearance[:n], clearance[n:])
        thumb_position = 0.5 * (position[:n] + position[n:])
        tip_distance = 0.5 * (tips[:n] + tips[n:])
    else:
        out_x, thumb_position, tip_distance = position[:, 0], position, tips

    # Every ramp at once (columns as in _ramp_table).
    lo, span = _ramp_table()
    x = np.concatenate(
        (bend, bend, bend, joint_angles[:, :, 1:].sum(-1), tip_distance[:, 0, 1:], out_x[:, None],
         clearance[:, None], -thumb_position[:, :1]),
        1,
    )
    ramps = _clip01((x - lo) / span)
    straight = 1.0 - ramps[:, 15:20]
    straight[:, 0] = 1.0  # the thumb's chord test covers both its joints
    ext = np.minimum(1.0 - ramps[:, :5], straight)
    cur = ramps[:, 5:10]
    membership = np.empty((n, 5, 3))
    membership[..., 0] = ext
    membership[..., 1] = 1.0 - ext - cur
    membership[..., 2] = cur
    thumb_touch = 1.0 - ramps[:, 20:24]
    # Thumb state: the first that holds of touching, open, across, else folded.
    tests = np.empty((n, 4))
    tests[:, 0] = thumb_touch.max(-1)
    thumb_open = np.minimum(ext[:, 0], np.minimum(ramps[:, 24], ramps[:, 25]), out=tests[:, 1])
    tests[:, 2] = thumb_across = ramps[:, 26]
    tests[:, 3] = 1.0
    thumb_state = _THUMB_PRIORITY[(tests >= 0.5).argmax(-1)]
    xy = unit[k:, _V_DIRS, :2]  # the z = 0 rows: unit image vectors
    return {
        "bend": bend,
        "curl": ramps[:, 10:15],
        "membership": membership,
        "state": membership.argmax(-1),
        "joint_angles": joint_angles,
        "thumb_open": thumb_open,
        "thumb_across": thumb_across,
        "thumb_touch": thumb_touch,
        "thumb_state": thumb_state,
        "thumb_position": thumb_position,
        "tip_distance": tip_distance,
        "palm_size": palm_size[:n],
        "hand_direction": xy[:, 0],
        "finger_direction": xy[:, 1:],
        # The palm's outward normal points towards the camera (negative z) when the palm faces it.
        "palm_facing": np.minimum(np.maximum(-normal[:n, 2], -1.0), 1.0),
    }


def finger_features(
    landmarks: np.ndarray,
    world_landmarks: np.ndarray | None = None,
    handedness: Any = None,
) -> FingerFeatures:
    """Finger states of one hand ``(21, 3)`` or a batch ``(N, 21, 3)``.

    Args:
        landmarks: image landmarks (x, y pixels; z relative depth at the scale of x, smaller = nearer).
        world_landmarks: optional world landmarks in metres, same shape; preferred for angles and
            distances (image landmarks with their z are used otherwise).
        handedness: "Left"/"Right" (or a sequence, or +1/-1), as the tracker reports it for a
            non-mirrored image. Only ``palm_facing`` and the z of ``thumb_position`` need it.

    The formulas, and why, are spelled out in ``_reference_features``; this computes the same floats in
    a few batched array operations.
    """
    img = np.asarray(landmarks, np.float64)
    if img.shape[-2:] != (21, 3):
        raise ValueError(f"expected (..., 21, 3) landmarks, got {img.shape}")
    lead = img.shape[:-2]
    world = _usable_world(world_landmarks, img.shape)
    side = _side(handedness, lead).reshape(-1)
    fields_ = _features(img.reshape(-1, 21, 3), None if world is None else world.reshape(-1, 21, 3), side)
    if len(lead) != 1:  # one hand, or several batch axes: restore the leading shape
        for k, a in fields_.items():
            a = a.reshape(lead + a.shape[1:])
            fields_[k] = a[()] if not lead and k in _SCALAR_FIELDS else a
    return FingerFeatures(**fields_)


def hand_features(hand: Any) -> FingerFeatures:
    """:func:`finger_features` of a :class:`~handtrace.results.Hand` (uses its world landmarks)."""
    return finger_features(hand.landmarks, getattr(hand, "world_landmarks", None), hand.handedness)


def direction_score(vec: Any, direction: str) -> np.ndarray:
    """Cosine between image vectors ``(..., 2)`` and a direction: ``up``, ``down``, ``left`` or ``right``."""
    try:
        target = np.asarray(_DIRECTION_VECTORS[direction])
    except KeyError:
        raise ValueError(f"unknown direction {direction!r}; use one of {DIRECTION_NAMES}") from None
    return np.sum(_unit(np.asarray(vec, np.float64)) * target, axis=-1)


def direction_name(vec: Any) -> Any:
    """Nearest of ``up``/``right``/``down``/``left`` for image vectors ``(..., 2)``; a str for one vector."""
    vec = np.asarray(vec, np.float64)
    ang = np.arctan2(vec[..., 0], -vec[..., 1])  # clockwise from image up (image y points down)
    names = np.asarray(DIRECTION_NAMES)[np.round(ang / (np.pi / 2)).astype(int) % 4]
    return str(names) if names.ndim == 0 else names
