"""A parametric hand skeleton for gesture tests: set each finger's bend, get MediaPipe-like landmarks.

The hand is built in metres as a right hand, palm towards the camera, fingers up (image axes: x right,
y down, z away from the camera). :func:`make_hand` returns image landmarks (pixels, z at the scale of x)
and world landmarks (metres, centred), then :func:`transform` applies in-plane rotation, scale,
mirroring (which also flips handedness) and noise, like a different photo of the same pose.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from handtrace.results import Hand

#: Finger bases (MCP) of a right hand, palm facing the camera: the thumb side is image right (+x).
_MCP = {
    "index": (0.026, -0.086, 0.0),
    "middle": (0.004, -0.090, 0.0),
    "ring": (-0.016, -0.085, 0.0),
    "pinky": (-0.033, -0.075, 0.0),
}
_LENGTHS = {
    "index": (0.040, 0.025, 0.020),
    "middle": (0.045, 0.028, 0.022),
    "ring": (0.042, 0.026, 0.021),
    "pinky": (0.032, 0.020, 0.018),
}
#: Spread of each finger in the palm plane (degrees, towards the thumb side positive).
_SPREAD = {"index": 8.0, "middle": 0.0, "ring": -7.0, "pinky": -16.0}
_BASE = {"thumb": 1, "index": 5, "middle": 9, "ring": 13, "pinky": 17}
#: Joint flexion (MCP, PIP, DIP) at curl 1 (a tight fist).
_FULL_CURL = np.array([85.0, 105.0, 70.0])


def _rot(axis: np.ndarray, deg: float) -> np.ndarray:
    """Rotation matrix about a unit axis (Rodrigues)."""
    a = np.asarray(axis, float) / np.linalg.norm(axis)
    t = np.radians(deg)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * (k @ k)


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, float)
    return v / np.linalg.norm(v)


def _finger(name: str, curl: float, spread: float) -> np.ndarray:
    """(4, 3) MCP, PIP, DIP, tip of one finger."""
    mcp = np.array(_MCP[name])
    # Straight direction: up (-y), turned in the palm plane by the spread angle.
    d = _rot(np.array([0.0, 0.0, 1.0]), spread * _SPREAD[name]) @ np.array([0.0, -1.0, 0.0])
    # Flexion turns the finger towards the palm's inner side (the camera: -z) about the axis across it.
    axis = _unit(np.cross(d, np.array([0.0, 0.0, -1.0])))
    pts = [mcp]
    total = 0.0
    for length, full in zip(_LENGTHS[name], _FULL_CURL, strict=True):
        total += curl * full
        pts.append(pts[-1] + length * (_rot(axis, -total) @ d))
    return np.array(pts)


def _thumb(pose: str, fingers: dict[str, np.ndarray]) -> np.ndarray:
    """(4, 3) CMC, MCP, IP, tip of the thumb in a named pose."""
    cmc = np.array([0.022, -0.022, -0.008])
    if pose == "open":  # abducted, straight, out to the side
        dirs = [_unit([0.62, -0.75, -0.22])] * 3
    elif pose == "side":  # straight, along the side of the index (a flat hand)
        dirs = [_unit([0.30, -0.94, -0.15])] * 3
    elif pose == "across":  # folded over the palm towards the pinky
        dirs = [_unit([0.2, -0.9, -0.4]), _unit([-0.75, -0.35, -0.55]), _unit([-0.95, 0.1, -0.3])]
    elif pose == "over_fist":  # tucked over the curled index and middle fingers
        dirs = [_unit([0.25, -0.85, -0.5]), _unit([-0.5, -0.55, -0.65]), _unit([-0.85, -0.2, -0.45])]
    elif pose.startswith("touch_"):
        target = fingers[pose[6:]][3] + np.array([0.0, 0.0, -0.004])
        mcp = cmc + 0.032 * _unit([0.45, -0.8, -0.4])
        tip = target
        mid = 0.5 * (mcp + tip) + 0.006 * _unit(np.cross(tip - mcp, [0.0, 0.0, 1.0]))
        return np.array([cmc, mcp, mid, tip])
    else:
        raise ValueError(pose)
    pts = [cmc]
    for length, d in zip((0.032, 0.030, 0.025), dirs, strict=True):
        pts.append(pts[-1] + length * d)
    return np.array(pts)


@dataclass
class SyntheticHand:
    landmarks: np.ndarray  # (21, 3) pixels
    world_landmarks: np.ndarray  # (21, 3) metres
    handedness: str

    def hand(self) -> Hand:
        box = np.concatenate([self.landmarks[:, :2].min(0), self.landmarks[:, :2].max(0)]).astype(np.float32)
        return Hand(self.landmarks.astype(np.float32), self.world_landmarks.astype(np.float32),
                    self.handedness, 0.95, 0.99, 0.9, box)  # fmt: skip


def make_hand(
    curls: dict[str, float] | None = None,
    thumb: str = "open",
    spread: float = 1.0,
    px_per_m: float = 2000.0,
    centre: tuple[float, float] = (320.0, 240.0),
) -> SyntheticHand:
    """A right hand, palm to the camera, fingers up; ``curls`` per finger in [0, 1] (default 0)."""
    curls = {"index": 0.0, "middle": 0.0, "ring": 0.0, "pinky": 0.0, **(curls or {})}
    fingers = {n: _finger(n, curls[n], spread) for n in ("index", "middle", "ring", "pinky")}
    world = np.zeros((21, 3))
    world[1:5] = _thumb(thumb, fingers)
    for n, pts in fingers.items():
        world[_BASE[n] : _BASE[n] + 4] = pts
    world = world - world.mean(0)
    img = np.empty_like(world)
    img[:, :2] = np.asarray(centre) + px_per_m * world[:, :2]
    img[:, 2] = px_per_m * (world[:, 2] - world[0, 2])
    return SyntheticHand(img, world, "Right")


def transform(
    h: SyntheticHand,
    angle: float = 0.0,
    scale: float = 1.0,
    mirror: bool = False,
    noise: float = 0.0,
    size: float = 1.0,
    seed: int = 0,
) -> SyntheticHand:
    """The same pose in another photo: rotate by ``angle`` degrees in the image plane (clockwise on
    screen), scale the image by ``scale``, mirror left-right (handedness flips), make the hand ``size``
    times bigger in metres, and add noise (``noise`` x 1% of the palm in both landmark sets)."""
    img, world = h.landmarks.copy(), h.world_landmarks.copy() * size
    centre = img[:, :2].mean(0)
    img[:, :2] = centre + (img[:, :2] - centre) * size
    img[:, 2] *= size
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    r = np.array([[c, -s], [s, c]])  # clockwise on screen (y down)
    img[:, :2] = centre + (img[:, :2] - centre) @ r.T
    world[:, :2] = world[:, :2] @ r.T
    img[:, :2] = centre + (img[:, :2] - centre) * scale
    img[:, 2] *= scale
    hand = h.handedness
    if mirror:
        img[:, 0] = 2 * centre[0] - img[:, 0]
        world[:, 0] = -world[:, 0]
        hand = {"Right": "Left", "Left": "Right"}[hand]
    if noise:
        rng = np.random.default_rng(seed)
        palm_px = np.linalg.norm(img[[5, 9, 13, 17], :2] - img[0, :2], axis=1).mean()
        palm_m = np.linalg.norm(world[[5, 9, 13, 17]] - world[0], axis=1).mean()
        img = img + rng.normal(0, 0.01 * noise * palm_px, img.shape)
        world = world + rng.normal(0, 0.01 * noise * palm_m, world.shape)
    return replace(h, landmarks=img, world_landmarks=world, handedness=hand)


def point(h: SyntheticHand, finger: str, direction: str) -> SyntheticHand:
    """Rotate the hand in the image plane so that ``finger`` (MCP -> tip) points ``direction``."""
    base = {"thumb": 2, "index": 5, "middle": 9, "ring": 13, "pinky": 17}[finger]
    tip = {"thumb": 4, "index": 8, "middle": 12, "ring": 16, "pinky": 20}[finger]
    v = h.landmarks[tip, :2] - h.landmarks[base, :2]
    target = {"up": (0, -1), "down": (0, 1), "left": (-1, 0), "right": (1, 0)}[direction]
    cur = np.degrees(np.arctan2(v[1], v[0]))
    want = np.degrees(np.arctan2(target[1], target[0]))
    return transform(h, angle=want - cur)


CURLED = {"index": 1.0, "middle": 1.0, "ring": 1.0, "pinky": 1.0}


def gesture_pose(name: str) -> SyntheticHand:
    """A canonical synthetic hand for each built-in gesture."""
    c = dict(CURLED)
    if name == "Closed_Fist":
        return make_hand(c, thumb="over_fist")
    if name == "Open_Palm":
        return make_hand({}, thumb="open")
    if name == "Pointing_Up":
        return point(make_hand({**c, "index": 0.0}, thumb="over_fist"), "index", "up")
    if name == "Thumb_Up":
        return point(make_hand(c, thumb="open"), "thumb", "up")
    if name == "Thumb_Down":
        return point(make_hand(c, thumb="open"), "thumb", "down")
    if name == "Victory":
        return make_hand({**c, "index": 0.0, "middle": 0.0}, thumb="across", spread=2.5)
    if name == "ILoveYou":
        return make_hand({**c, "index": 0.0, "pinky": 0.0}, thumb="open")
    if name == "Rock":
        return make_hand({**c, "index": 0.0, "pinky": 0.0}, thumb="across")
    if name == "Call":
        return make_hand({**c, "pinky": 0.0}, thumb="open")
    if name == "Three":
        return make_hand({**c, "index": 0.0, "middle": 0.0, "ring": 0.0}, thumb="across")
    if name == "Four":
        return make_hand({}, thumb="across")
    if name == "OK":
        return make_hand({"index": 0.55}, thumb="touch_index", spread=1.5)
    if name == "Pinch":
        return make_hand({"index": 0.5, "middle": 0.8, "ring": 0.9, "pinky": 0.9}, thumb="touch_index")
    raise ValueError(name)


def blend(a: SyntheticHand, b: SyntheticHand, t: float) -> SyntheticHand:
    """Landmarks part way (``t`` in [0, 1]) from pose ``a`` to pose ``b``."""
    return replace(
        a,
        landmarks=(1 - t) * a.landmarks + t * b.landmarks,
        world_landmarks=(1 - t) * a.world_landmarks + t * b.world_landmarks,
    )


def moved(h: SyntheticHand, dx: float, dy: float) -> SyntheticHand:
    """The hand shifted by (dx, dy) pixels in the image (world landmarks unchanged)."""
    img = h.landmarks.copy()
    img[:, 0] += dx
    img[:, 1] += dy
    return replace(h, landmarks=img)


def palm_px(h: SyntheticHand) -> float:
    """Palm size in pixels (mean wrist-to-finger-base distance)."""
    return float(np.linalg.norm(h.landmarks[[5, 9, 13, 17], :2] - h.landmarks[0, :2], axis=1).mean())


def back_view(h: SyntheticHand) -> SyntheticHand:
    """The same hand turned round (180 degrees about the image's vertical axis): the back faces the camera."""
    img, world = h.landmarks.copy(), h.world_landmarks.copy()
    cx = img[:, 0].mean()
    img[:, 0] = 2 * cx - img[:, 0]
    img[:, 2] = -img[:, 2]
    world[:, 0] = -world[:, 0]
    world[:, 2] = -world[:, 2]
    return replace(h, landmarks=img, world_landmarks=world)
