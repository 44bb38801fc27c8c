"""Gestures from finger states: definitions, the built-in set, user-defined gestures and the recogniser.

A :class:`Gesture` is a pattern of finger states plus optional conditions; its score on a hand is the
fuzzy AND (minimum) of one score in [0, 1] per condition, computed from :mod:`handtrace.fingers`:

* ``fingers``: finger name -> state, one of ``extended``, ``half_bent``, ``curled``, ``bent`` (not
  extended), ``not_curled``, ``any``, or a list of them (any of those);
* ``thumb``: thumb position, one of ``open``, ``across``, ``folded``, ``touching``, ``not_open``,
  ``not_across``, ``any``, or a list;
* ``direction``: finger name or ``hand`` -> ``up``/``down``/``left``/``right`` (image directions; full
  score within ``direction_tolerance`` degrees, none beyond it + 25);
* ``distances``: fingertip distance limits in palm sizes (``{"between": ["thumb", "index"], "max": 0.3}``
  or ``"min"``); the limit is where the score crosses 0.5, with a soft margin of 0.1 palm sizes;
* ``palm``: ``camera`` or ``away``.

The recogniser scores every gesture, takes the best name, and answers ``"None"`` when the best score is
under ``min_score`` or another gesture comes within ``margin`` of it (an ambiguous pose is not guessed).

Gesture files (JSON always; YAML when PyYAML is installed) hold ``{"gestures": [ {...}, ... ]}`` or a bare
list, each entry in the keyword form of :class:`Gesture` (see ``docs/gestures.md``).
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from handtrace.fingers import (
    CURLED,
    EXTENDED,
    FINGER_NAMES,
    HALF_BENT,
    FingerFeatures,
    direction_score,
    finger_features,
    finger_index,
    ramp,
)

if TYPE_CHECKING:
    from handtrace.gesture_classifier import GestureClassifier
    from handtrace.results import Hand

NONE = "None"
FINGER_STATES = ("extended", "half_bent", "curled", "bent", "not_curled", "any")
THUMB_STATES = ("open", "across", "folded", "touching", "not_open", "not_across", "any")
DIRECTIONS = ("up", "down", "left", "right")
PALM_SIDES = ("camera", "away")
#: Soft margin (palm sizes) around a distance limit: the score goes 1 -> 0 over limit -/+ this.
DISTANCE_MARGIN = 0.1


def _as_tuple(value: str | Sequence[str], allowed: Sequence[str], what: str) -> tuple[str, ...]:
    values = (value,) if isinstance(value, str) else tuple(value)
    for v in values:
        if v not in allowed:
            raise ValueError(f"unknown {what} {v!r}; use one of {', '.join(allowed)}")
    if not values:
        raise ValueError(f"empty {what} list")
    return values


@dataclass(frozen=True)
class Distance:
    """A fingertip distance condition in palm sizes: ``min <= |tip a - tip b| <= max`` (soft)."""

    between: tuple[str, str]
    max: float | None = None
    min: float | None = None

    def __post_init__(self) -> None:
        if len(self.between) != 2:
            raise ValueError("a distance is 'between' two fingers")
        for f in self.between:
            if f not in FINGER_NAMES:
                raise ValueError(f"unknown finger {f!r}; use one of {', '.join(FINGER_NAMES)}")
        if self.max is None and self.min is None:
            raise ValueError(f"distance between {self.between} needs 'max' or 'min'")
        object.__setattr__(self, "between", tuple(self.between))

    def score(self, f: FingerFeatures) -> np.ndarray:
        d = f.tip_distance[..., finger_index(self.between[0]), finger_index(self.between[1])]
        s = np.ones_like(d)
        if self.max is not None:
            s = np.minimum(s, ramp(d, self.max + DISTANCE_MARGIN, self.max - DISTANCE_MARGIN))
        if self.min is not None:
            s = np.minimum(s, ramp(d, self.min - DISTANCE_MARGIN, self.min + DISTANCE_MARGIN))
        return s

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"between": list(self.between)}
        if self.max is not None:
            d["max"] = self.max
        if self.min is not None:
            d["min"] = self.min
        return d


def _finger_state_score(f: FingerFeatures, finger: int, state: str) -> np.ndarray:
    m = f.membership[..., finger, :]
    if state == "extended":
        return m[..., EXTENDED]
    if state == "half_bent":
        return m[..., HALF_BENT]
    if state == "curled":
        return m[..., CURLED]
    if state == "bent":
        return 1.0 - m[..., EXTENDED]
    if state == "not_curled":
        return 1.0 - m[..., CURLED]
    return np.ones(m.shape[:-1])


def _thumb_state_score(f: FingerFeatures, state: str) -> np.ndarray:
    touching = f.thumb_touch.max(-1)
    if state == "open":
        return f.thumb_open
    if state == "across":
        return f.thumb_across
    if state == "touching":
        return touching
    if state == "folded":
        return np.clip(1.0 - f.thumb_open - f.thumb_across, 0.0, 1.0)
    if state == "not_open":
        return 1.0 - f.thumb_open
    if state == "not_across":
        return 1.0 - f.thumb_across
    return np.ones_like(touching)


@dataclass(frozen=True)
class Gesture:
    """A named pattern of finger states and conditions; see the module docstring for the vocabulary.

    Example::

        Gesture("Spiderman", fingers={"thumb": "extended", "index": "extended", "middle": "curled",
                                      "ring": "curled", "pinky": "extended"}, thumb="open")
    """

    name: str
    fingers: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    thumb: str | Sequence[str] | None = None
    direction: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    distances: Sequence[Distance | Mapping[str, Any]] = ()
    palm: str | None = None
    direction_tolerance: float = 40.0
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name or self.name == NONE:
            raise ValueError(f"a gesture needs a name other than {NONE!r}")
        fingers = {}
        for k, v in dict(self.fingers).items():
            if k not in FINGER_NAMES:
                raise ValueError(f"unknown finger {k!r}; use one of {', '.join(FINGER_NAMES)}")
            fingers[k] = _as_tuple(v, FINGER_STATES, "finger state")
        object.__setattr__(self, "fingers", fingers)
        if self.thumb is not None:
            object.__setattr__(self, "thumb", _as_tuple(self.thumb, THUMB_STATES, "thumb state"))
        direction = {}
        for k, v in dict(self.direction).items():
            if k not in (*FINGER_NAMES, "hand"):
                raise ValueError(f"unknown direction subject {k!r}; use a finger name or 'hand'")
            direction[k] = _as_tuple(v, DIRECTIONS, "direction")
        object.__setattr__(self, "direction", direction)
        dists = tuple(
            d if isinstance(d, Distance) else Distance(tuple(d["between"]), d.get("max"), d.get("min"))
            for d in self.distances
        )
        object.__setattr__(self, "distances", dists)
        if self.palm is not None and self.palm not in PALM_SIDES:
            raise ValueError(f"unknown palm side {self.palm!r}; use one of {', '.join(PALM_SIDES)}")

    def conditions(self, f: FingerFeatures) -> dict[str, np.ndarray]:
        """The score of each condition on features ``f`` (one hand or a batch), keyed by a readable label."""
        out: dict[str, np.ndarray] = {}
        for name, states in self.fingers.items():
            i = finger_index(name)
            out[f"{name}={'|'.join(states)}"] = np.max([_finger_state_score(f, i, s) for s in states], 0)
        if self.thumb is not None:
            out[f"thumb:{'|'.join(self.thumb)}"] = np.max([_thumb_state_score(f, s) for s in self.thumb], 0)
        cos_full = np.cos(np.radians(self.direction_tolerance))
        cos_zero = np.cos(np.radians(min(self.direction_tolerance + 25.0, 180.0)))
        for subject, dirs in self.direction.items():
            vec = f.hand_direction if subject == "hand" else f.finger_direction[..., finger_index(subject), :]
            cos = np.max([direction_score(vec, d) for d in dirs], 0)
            out[f"{subject}->{'|'.join(dirs)}"] = ramp(cos, cos_zero, cos_full)
        for d in self.distances:
            assert isinstance(d, Distance)
            label = "|".join(d.between)
            out[f"dist({label})" + (f"<={d.max}" if d.max is not None else "") + (
                f">={d.min}" if d.min is not None else "")] = d.score(f)
        if self.palm is not None:
            sign = 1.0 if self.palm == "camera" else -1.0
            out[f"palm:{self.palm}"] = ramp(sign * f.palm_facing, -0.2, 0.2)
        return out

    def score(self, f: FingerFeatures) -> np.ndarray:
        """Fuzzy AND of all conditions: shape ``()`` for one hand, ``(N,)`` for a batch."""
        conds = self.conditions(f)
        if not conds:
            return np.ones(f.state.shape[:-1])
        return np.min(np.stack(list(conds.values())), axis=0)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (what :meth:`from_dict` and gesture files take)."""

        def flat(v: tuple[str, ...]) -> str | list[str]:
            return v[0] if len(v) == 1 else list(v)

        d: dict[str, Any] = {"name": self.name}
        if self.description:
            d["description"] = self.description
        if self.fingers:
            d["fingers"] = {k: flat(v) for k, v in self.fingers.items()}  # type: ignore[arg-type]
        if self.thumb is not None:
            d["thumb"] = flat(self.thumb)  # type: ignore[arg-type]
        if self.direction:
            d["direction"] = {k: flat(v) for k, v in self.direction.items()}  # type: ignore[arg-type]
            d["direction_tolerance"] = self.direction_tolerance
        if self.distances:
            d["distances"] = [x.to_dict() for x in self.distances]  # type: ignore[union-attr]
        if self.palm is not None:
            d["palm"] = self.palm
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Gesture:
        """Build a gesture from its JSON form; unknown keys are an error (they are usually typos)."""
        known = {"name", "fingers", "thumb", "direction", "distances", "palm", "direction_tolerance",
                 "description"}
        extra = set(d) - known
        if extra:
            raise ValueError(f"gesture {d.get('name')!r}: unknown keys {sorted(extra)}")
        if "name" not in d:
            raise ValueError("a gesture needs a 'name'")
        return cls(**{k: v for k, v in d.items()})


#: Thumb-to-index tip distance (palm sizes) where OK and Pinch score 0.5 (1 at 0.1 less, 0 at 0.1 more).
#: Landmarks sit at the fingertips, beyond the touching pads: touching tips measure 0.15-0.3 apart, a
#: fist's tucked thumb 0.3-0.5. OK's three extended fingers are evidence enough for a looser ring;
#: Pinch has only the contact to go on, so it asks for a tighter one.
OK_TOUCH_MAX = 0.3
PINCH_TOUCH_MAX = 0.22
_CURLED4 = {"index": "curled", "middle": "curled", "ring": "curled", "pinky": "curled"}

#: The built-in gestures. Several entries may share a name (alternative patterns of one gesture).
#: Why the rules look as they do:
#: * fingers folded away in Victory, Rock, Call, ... need only be "bent" (not extended): the contrast with
#:   the extended ones defines those gestures, and a half-curled ring finger is still "down";
#:   Closed_Fist and the thumb gestures need "curled", or every relaxed hand would be a fist;
#: * the thumb separates look-alikes: Four (thumb across the palm) from Open_Palm (thumb out), Rock
#:   (thumb in) from ILoveYou (thumb out), Victory from the thumb-out Three; a flat hand with the thumb
#:   along the index, or a relaxed hand, is neither and stays None;
#: * only gestures named after a direction check one (Pointing_Up, Thumb_Up, Thumb_Down).
BUILTIN_GESTURES: tuple[Gesture, ...] = (
    Gesture("Closed_Fist", fingers=_CURLED4, thumb="not_open", description="all fingers curled, thumb in"),
    Gesture(
        "Open_Palm",
        fingers=dict.fromkeys(FINGER_NAMES, "extended"),
        thumb="open",
        description="all five fingers extended, thumb out",
    ),
    Gesture(
        "Pointing_Up",
        fingers={"index": "extended", "middle": "bent", "ring": "bent", "pinky": "bent"},
        direction={"index": "up"},
        description="index extended and pointing up, the other fingers bent",
    ),
    Gesture(
        "Thumb_Up",
        fingers={"thumb": "extended", **_CURLED4},
        thumb="open",
        direction={"thumb": "up"},
        description="thumb out and up, fingers curled",
    ),
    Gesture(
        "Thumb_Down",
        fingers={"thumb": "extended", **_CURLED4},
        thumb="open",
        direction={"thumb": "down"},
        description="thumb out and down, fingers curled",
    ),
    Gesture(
        "Victory",
        fingers={"index": "extended", "middle": "extended", "ring": "bent", "pinky": "bent"},
        thumb="not_open",
        description="index and middle extended (V), ring and pinky bent, thumb in",
    ),
    Gesture(
        "ILoveYou",
        fingers={"thumb": "extended", "index": "extended", "middle": "bent", "ring": "bent",
                 "pinky": "extended"},
        thumb="open",
        description="thumb, index and pinky extended; middle and ring bent",
    ),
    Gesture(
        "Rock",
        fingers={"index": "extended", "middle": "bent", "ring": "bent", "pinky": "extended"},
        thumb="not_open",
        description="horns: index and pinky extended, middle and ring bent, thumb in",
    ),
    Gesture(
        "Call",
        fingers={"thumb": "extended", "index": "bent", "middle": "bent", "ring": "bent",
                 "pinky": "extended"},
        thumb="open",
        description="thumb and pinky extended, the rest bent (phone sign)",
    ),
    Gesture(
        "Three",
        fingers={"index": "extended", "middle": "extended", "ring": "extended", "pinky": "bent"},
        thumb="not_open",
        description="index, middle and ring extended; pinky bent, thumb in",
    ),
    Gesture(
        "Three",
        fingers={"thumb": "extended", "index": "extended", "middle": "extended", "ring": "bent",
                 "pinky": "bent"},
        thumb="open",
        description="thumb, index and middle extended; ring and pinky bent",
    ),
    Gesture(
        "Four",
        fingers={"index": "extended", "middle": "extended", "ring": "extended", "pinky": "extended"},
        thumb="across",
        description="four fingers extended, thumb folded across the palm",
    ),
    Gesture(
        "OK",
        fingers={"middle": "extended", "ring": "extended", "pinky": "extended"},
        distances=(Distance(("thumb", "index"), max=OK_TOUCH_MAX),),
        description="thumb and index tips touching (a ring), the other fingers extended",
    ),
    Gesture(
        "Pinch",
        fingers={"middle": "bent"},
        distances=(Distance(("thumb", "index"), max=PINCH_TOUCH_MAX),),
        description="thumb and index tips touching, the other fingers not extended",
    ),
)

BUILTIN_NAMES: tuple[str, ...] = tuple(dict.fromkeys(g.name for g in BUILTIN_GESTURES))


def load_gestures(path: str | Path) -> list[Gesture]:
    """Gestures from a JSON file, or YAML (``.yaml``/``.yml``) when PyYAML is installed."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml  # type: ignore[import-untyped]
        except ImportError as e:
            raise ImportError(f"{path}: reading YAML needs PyYAML (pip install pyyaml); or use JSON") from e
        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    return gestures_from_data(data, source=str(path))


def gestures_from_data(data: Any, source: str = "<data>") -> list[Gesture]:
    """Gestures from parsed JSON/YAML: ``{"gestures": [...]}`` or a list of gesture dicts."""
    if isinstance(data, Mapping):
        if "gestures" not in data:
            raise ValueError(f"{source}: expected a 'gestures' list")
        data = data["gestures"]
    if not isinstance(data, list):
        raise ValueError(f"{source}: expected a list of gestures")
    out = []
    for i, d in enumerate(data):
        try:
            out.append(Gesture.from_dict(d))
        except (TypeError, ValueError) as e:
            raise ValueError(f"{source}: gesture #{i}: {e}") from e
    return out


def save_gestures(gestures: Iterable[Gesture], path: str | Path) -> None:
    """Write gestures as a JSON gesture file."""
    Path(path).write_text(json.dumps({"gestures": [g.to_dict() for g in gestures]}, indent=2) + "\n")


#: Columns of the atom matrix that compiled rules read (see :func:`_atoms`): per finger its six
#: ``FINGER_STATES`` scores, the ``THUMB_STATES`` scores, the 5 x 5 fingertip distances, palm facing and its
#: negation (camera, away), and, only when some rule has a direction, per subject (hand, then each finger)
#: the cosine with each of ``DIRECTIONS``.
_A_FINGER, _A_THUMB, _A_DIST, _A_PALM, _A_DIR = 0, 30, 37, 62, 64
_A_ONE = _A_THUMB + THUMB_STATES.index("any")  # always 1: the score of a pattern without conditions
#: Image (x, y) -> cosine with up, down, left, right (the DIRECTIONS order).
_DIR_COS = np.array([[0.0, 0.0, -1.0, 1.0], [-1.0, 1.0, 0.0, 0.0]])


def _own_scoring(g: Gesture) -> bool:
    """Whether ``g`` (a subclass) scores itself; the compiled table only knows :class:`Gesture`'s rules."""
    t = type(g)
    return t.score is not Gesture.score or t.conditions is not Gesture.conditions


def _padded(rows: list[list[int]]) -> np.ndarray:
    """Rows of indices as one int array, short rows padded with their own first index (a no-op for the
    max or min taken over them)."""
    width = max((len(r) for r in rows), default=1)
    return np.array([r + r[:1] * (width - len(r)) for r in rows], np.intp).reshape(len(rows), width)


def _squeezed(index: np.ndarray) -> np.ndarray:
    """``(C,)`` for ``(C, 1)``: a gather with one column per condition needs no max after it."""
    return index[:, 0] if index.shape[1] == 1 else index


@dataclass(frozen=True, eq=False)
class _RuleTable:
    """Gesture patterns compiled to index arrays: every pattern scores on every hand in a few array ops.

    A condition is the max over some atom columns (a list of allowed states), through a ramp for
    directions, distances and the palm; a pattern is the min over its conditions; a name the max over
    its patterns. These are the operations of :meth:`Gesture.conditions` and :meth:`Gesture.score`, so
    the scores are the same floats.
    """

    gestures: tuple[Gesture, ...]  # compiled from these (held so that their ids identify the list)
    names: list[str]
    cond_atoms: np.ndarray  # (C, K) atom columns per condition, or (C,) when each has one
    n_plain: int  # conditions [:n_plain] are used as they are, the rest through a ramp
    ramp_lo: np.ndarray  # (C - n_plain,)
    ramp_span: np.ndarray
    pattern_conds: np.ndarray  # (P, L) condition columns per compiled pattern
    own: tuple[Gesture, ...]  # patterns that score themselves (subclasses), after the compiled ones
    name_patterns: np.ndarray  # (len(names), Q) pattern columns per name
    directions: bool  # whether any condition reads the direction atoms

    @classmethod
    def compile(cls, gestures: Sequence[Gesture]) -> _RuleTable:
        plain: dict[tuple[int, ...], int] = {(_A_ONE,): 0}
        ramps: dict[tuple[tuple[int, ...], float, float], int] = {}
        compiled: list[list[tuple[bool, int]]] = []
        own: list[Gesture] = []
        columns: list[int] = []  # per gesture: its pattern column (compiled ones first, then own)
        for g in gestures:
            if _own_scoring(g):
                columns.append(-1 - len(own))
                own.append(g)
                continue
            atoms: list[tuple[int, ...]] = []  # plain conditions
            ramped: list[tuple[tuple[int, ...], float, float]] = []  # (atoms, lo, hi)
            for finger, states in g.fingers.items():
                base = _A_FINGER + 6 * finger_index(finger)
                atoms.append(tuple(base + FINGER_STATES.index(s) for s in states))
            if g.thumb is not None:
                atoms.append(tuple(_A_THUMB + THUMB_STATES.index(s) for s in g.thumb))
            cos_full = np.cos(np.radians(g.direction_tolerance))
            cos_zero = np.cos(np.radians(min(g.direction_tolerance + 25.0, 180.0)))
            for subject, dirs in g.direction.items():
                base = _A_DIR + 4 * (0 if subject == "hand" else 1 + finger_index(subject))
                ramped.append((tuple(base + DIRECTIONS.index(d) for d in dirs), cos_zero, cos_full))
            for d in g.distances:
                assert isinstance(d, Distance)
                col = (_A_DIST + 5 * finger_index(d.between[0]) + finger_index(d.between[1]),)
                if d.max is not None:
                    ramped.append((col, d.max + DISTANCE_MARGIN, d.max - DISTANCE_MARGIN))
                if d.min is not None:
                    ramped.append((col, d.min - DISTANCE_MARGIN, d.min + DISTANCE_MARGIN))
            if g.palm is not None:
                ramped.append(((_A_PALM + PALM_SIDES.index(g.palm),), -0.2, 0.2))
            conds = [(False, plain.setdefault(a, len(plain))) for a in atoms]
            conds += [(True, ramps.setdefault(r, len(ramps))) for r in ramped]
            columns.append(len(compiled))
            compiled.append(conds)
        n_plain = len(plain)
        lo = np.array([r[1] for r in ramps], np.float64)
        hi = np.array([r[2] for r in ramps], np.float64)
        names = list(dict.fromkeys(g.name for g in gestures))
        by_name: dict[str, list[int]] = {n: [] for n in names}
        for g, c in zip(gestures, columns, strict=True):
            by_name[g.name].append(c if c >= 0 else len(compiled) - 1 - c)
        return cls(
            gestures=tuple(gestures),
            names=names,
            cond_atoms=_squeezed(_padded([list(a) for a in plain] + [list(r[0]) for r in ramps])),
            n_plain=n_plain,
            ramp_lo=lo,
            ramp_span=np.where(np.abs(hi - lo) < 1e-9, 1e-9, hi - lo),  # as in ramp()
            pattern_conds=_padded([[c + n_plain * r for r, c in p] or [0] for p in compiled]),
            own=tuple(own),
            name_patterns=_padded([by_name[n] for n in names]),
            directions=any(a >= _A_DIR for r in ramps for a in r[0]),
        )

    def scores(self, f: FingerFeatures) -> np.ndarray:
        """Scores ``(..., len(names))``: each name's best pattern on features ``f``."""
        lead = f.state.shape[:-1]
        n = math.prod(lead)
        parts = []
        if len(self.pattern_conds):
            cond = np.take(_atoms(f, n, self.directions), self.cond_atoms, 1)
            if cond.ndim == 3:  # some condition allows several states: the best of them
                cond = cond.max(-1)
            if len(self.ramp_lo):
                r = (cond[:, self.n_plain :] - self.ramp_lo) / self.ramp_span
                cond[:, self.n_plain :] = np.minimum(np.maximum(r, 0.0), 1.0)  # np.clip, minus its overhead
            parts.append(np.take(cond, self.pattern_conds, 1).min(-1))  # (n, P)
        if self.own:
            own = [np.reshape(np.asarray(g.score(f), np.float64), (n,)) for g in self.own]
            parts.append(np.stack(own, -1))
        pat = parts[0] if len(parts) == 1 else np.concatenate(parts, 1)
        return np.take(pat, self.name_patterns, 1).max(-1).reshape(*lead, len(self.names))


def _atoms(f: FingerFeatures, n: int, directions: bool) -> np.ndarray:
    """The per-hand values that conditions are made of, ``(n, 64)`` or ``(n, 88)`` with directions;
    each computed as in :func:`_finger_state_score`, :func:`_thumb_state_score` and
    :func:`~handtrace.fingers.direction_score` (filled in place: fewer numpy calls than concatenating)."""
    a = np.empty((n, _A_DIR + 24 if directions else _A_DIR))
    fs = a[:, _A_FINGER:_A_THUMB].reshape(n, 5, 6)  # a view: per finger the FINGER_STATES scores
    m = f.membership.reshape(n, 5, 3)
    fs[..., :3] = m
    np.subtract(1.0, m[..., ::2], out=fs[..., 3:5])  # bent, not_curled
    fs[..., 5] = 1.0
    t = a[:, _A_THUMB:_A_DIST]  # the THUMB_STATES scores
    t[:, 0] = np.asarray(f.thumb_open).reshape(n)
    t[:, 1] = np.asarray(f.thumb_across).reshape(n)
    np.subtract(1.0, t[:, :2], out=t[:, 4:6])  # not_open, not_across
    t[:, 2] = np.minimum(np.maximum(t[:, 4] - t[:, 1], 0.0), 1.0)  # folded: clip(1 - open - across)
    t[:, 3] = f.thumb_touch.reshape(n, 4).max(-1)
    t[:, 6] = 1.0
    a[:, _A_DIST:_A_PALM] = f.tip_distance.reshape(n, 25)
    a[:, _A_PALM] = np.asarray(f.palm_facing).reshape(n)
    np.negative(a[:, _A_PALM], out=a[:, _A_PALM + 1])
    if directions:
        vec = np.concatenate((f.hand_direction.reshape(n, 1, 2), f.finger_direction.reshape(n, 5, 2)), 1)
        vec = vec / np.maximum(np.sqrt(np.add.reduce(vec * vec, -1)), 1e-12)[..., None]
        a[:, _A_DIR:] = (vec @ _DIR_COS).reshape(n, 24)  # exact: one term of each sum is a signed copy
    return a


class GestureRecognizer:
    """Names the gesture of each hand from the rules and, optionally, a trained classifier.

    Args:
        gestures: rule gestures (default: :data:`BUILTIN_GESTURES`); entries sharing a name are
            alternatives (the name scores the best of them).
        extra: more gestures, or paths of gesture files, added after ``gestures``; a user gesture with
            a built-in's name replaces that built-in.
        model: a trained :class:`~handtrace.gesture_classifier.GestureClassifier` or the path of its
            JSON file.
        min_score: the best rule score must reach this, else the answer is ``"None"``.
        margin: the best rule name must beat the next other name by this, else ``"None"``.
        prefer: ``"model"`` (default): a trained model's answer wins when it names one of its own
            gestures (not its none class) with at least its ``min_score``; otherwise the rules decide.
            ``"rules"``: the rules win when they name a gesture; the model answers only when the rules
            say ``"None"``.
    """

    def __init__(
        self,
        gestures: Iterable[Gesture] | None = None,
        *,
        extra: Iterable[Gesture | str | Path] = (),
        model: GestureClassifier | str | Path | None = None,
        min_score: float = 0.5,
        margin: float = 0.1,
        prefer: str = "model",
    ) -> None:
        self.gestures: list[Gesture] = list(BUILTIN_GESTURES if gestures is None else gestures)
        self._user_names: set[str] = set()
        for item in extra:
            if isinstance(item, Gesture):
                self.add(item)
            else:
                for g in load_gestures(item):
                    self.add(g)
        if prefer not in ("model", "rules"):
            raise ValueError("prefer must be 'model' or 'rules'")
        self.min_score = float(min_score)
        self.margin = float(margin)
        self.prefer = prefer
        self.model: GestureClassifier | None = None
        if model is not None:
            self.load_model(model)

    # -- configuration -----------------------------------------------------------------------------
    def add(self, gesture: Gesture, replace: bool | None = None) -> None:
        """Add a rule gesture. A gesture named like a built-in replaces the built-in's patterns, unless
        ``replace=False`` (then it becomes one more alternative pattern of that name)."""
        if replace is None:
            replace = gesture.name not in self._user_names
        if replace:
            self.gestures = [g for g in self.gestures if g.name != gesture.name]
        self.gestures.append(gesture)
        self._user_names.add(gesture.name)

    def remove(self, name: str) -> None:
        """Drop every pattern of a gesture name."""
        self.gestures = [g for g in self.gestures if g.name != name]

    def load(self, path: str | Path) -> None:
        """Load a gesture file or a trained model file (told apart by content)."""
        path = Path(path)
        if path.suffix.lower() == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            from handtrace.gesture_classifier import FORMAT

            if isinstance(data, Mapping) and data.get("format") == FORMAT:
                self.load_model(path)
                return
            for g in gestures_from_data(data, source=str(path)):
                self.add(g)
            return
        for g in load_gestures(path):
            self.add(g)

    def load_model(self, model: GestureClassifier | str | Path) -> None:
        """Use a trained classifier beside the rules."""
        from handtrace.gesture_classifier import GestureClassifier

        self.model = model if isinstance(model, GestureClassifier) else GestureClassifier.load(model)

    @property
    def names(self) -> list[str]:
        """Every name this recogniser can answer (rules, then the model's classes), without ``"None"``."""
        names = list(dict.fromkeys(g.name for g in self.gestures))
        if self.model is not None:
            names += [c for c in self.model.classes if c != self.model.none_class and c not in names]
        return names

    # -- scoring -----------------------------------------------------------------------------------
    def _table(self) -> _RuleTable:
        """The compiled rule table, rebuilt whenever ``self.gestures`` changes (add, remove, load, or
        any edit of the list: it is keyed on the gestures' identities)."""
        table: _RuleTable | None = getattr(self, "_rule_table", None)
        gestures = self.gestures
        if (table is None or len(table.gestures) != len(gestures)
                or not all(map(operator.is_, table.gestures, gestures))):
            table = self._rule_table = _RuleTable.compile(gestures)
        return table

    def rule_scores(self, f: FingerFeatures) -> tuple[list[str], np.ndarray]:
        """Names and scores ``(..., len(names))`` of the rule gestures (max over a name's patterns)."""
        table = self._table()
        names = list(table.names)
        if not names:
            return names, np.zeros((*f.state.shape[:-1], 0))
        return names, table.scores(f)

    def _decide_rules(self, names: list[str], scores: np.ndarray) -> list[tuple[str, float]]:
        scores = np.atleast_2d(scores)
        if scores.shape[-1] == 0:
            return [(NONE, 1.0)] * scores.shape[0]
        order = np.argsort(-scores, axis=-1).tolist()
        out = []
        for row, o in zip(scores.tolist(), order, strict=True):  # plain floats: a few names per hand
            b = row[o[0]]
            s = row[o[1]] if len(o) > 1 else 0.0
            if b < self.min_score:
                out.append((NONE, 1.0 - b))  # how far the best gesture is from matching at all
            elif b - s < self.margin:
                out.append((NONE, 0.5))  # two gestures match about equally: undecided
            else:
                out.append((names[o[0]], b))
        return out

    def recognize_features(
        self, f: FingerFeatures, landmarks: np.ndarray | None = None, world: np.ndarray | None = None,
        handedness: Any = None,
    ) -> list[tuple[str, float]]:
        """Decide for a batch of features; the trained model (if any) also needs the landmarks."""
        names, scores = self.rule_scores(f)
        rules = self._decide_rules(names, scores.reshape(math.prod(f.state.shape[:-1]), len(names)))
        if self.model is None or landmarks is None:
            return rules
        probs = self.model.predict_proba(landmarks, world, handedness)
        probs = probs.reshape(-1, len(self.model.classes))
        out = []
        for (rname, rscore), p in zip(rules, probs, strict=True):
            k = int(np.argmax(p))
            cls, conf = self.model.classes[k], float(p[k])
            model_says = cls != self.model.none_class and conf >= self.model.min_score
            if self.prefer == "model":
                out.append((cls, conf) if model_says else (rname, rscore))
            else:
                out.append((rname, rscore) if rname != NONE or not model_says else (cls, conf))
        return out

    def recognize_landmarks(
        self, landmarks: np.ndarray, world_landmarks: np.ndarray | None = None, handedness: Any = None
    ) -> list[tuple[str, float]] | tuple[str, float]:
        """Gesture of one hand ``(21, 3)`` (a tuple) or a batch ``(N, 21, 3)`` (a list of tuples)."""
        lm = np.asarray(landmarks, np.float64)
        f = finger_features(lm, world_landmarks, handedness)
        res = self.recognize_features(f, lm, world_landmarks, handedness)
        return res[0] if lm.ndim == 2 else res

    def recognize(self, hand: Hand) -> tuple[str, float]:
        """``(name, score)`` for one hand; the name is ``"None"`` when no gesture matches clearly."""
        res = self.recognize_landmarks(hand.landmarks, hand.world_landmarks, hand.handedness)
        assert isinstance(res, tuple)
        return res

    def recognize_all(self, hands: Sequence[Hand]) -> list[tuple[str, float]]:
        """``(name, score)`` for each hand, computed as one batch."""
        if not hands:
            return []
        lm = np.array([h.landmarks for h in hands], np.float64)
        world = np.array([h.world_landmarks for h in hands], np.float64)
        side = [h.handedness for h in hands]
        f = finger_features(lm, world, side)
        return self.recognize_features(f, lm, world, side)

    def annotate(self, hands: Sequence[Hand], fingers: bool = False) -> Sequence[Hand]:
        """Set ``gesture`` and ``gesture_score`` on each hand in place (and return the hands).

        With ``fingers=True`` each hand's ``extras["fingers"]`` also gets its finger states (a dict that
        ``Hand.to_dict`` includes in JSON output).
        """
        for hand, (name, score) in zip(hands, self.recognize_all(hands), strict=True):
            hand.gesture = name
            hand.gesture_score = float(score)
        if fingers and hands:
            from handtrace.fingers import hand_features

            for hand in hands:
                hand.extras["fingers"] = hand_features(hand).to_dict()
        return hands

    def explain(self, hand: Hand) -> dict[str, dict[str, float]]:
        """Per gesture pattern, the score of each condition on this hand (for debugging rules)."""
        f = finger_features(hand.landmarks, hand.world_landmarks, hand.handedness)
        out: dict[str, dict[str, float]] = {}
        for i, g in enumerate(self.gestures):
            key = g.name if g.name not in out else f"{g.name}#{i}"
            conds = {k: round(float(v), 3) for k, v in g.conditions(f).items()}
            conds["score"] = round(float(g.score(f)), 3)
            out[key] = conds
        return out
