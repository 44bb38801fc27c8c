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
    def rule_scores(self, f: FingerFeatures) -> tuple[list[str], np.ndarray]:
        """Names and scores ``(..., len(names))`` of the rule gestures (max over a name's patterns)."""
        names = list(dict.fromkeys(g.name for g in self.gestures))
        if not names:
            return names, np.zeros((*f.state.shape[:-1], 0))
        per = np.stack([g.score(f) for g in self.gestures], axis=-1)
        cols = np.array([names.index(g.name) for g in self.gestures])
        out = np.zeros((*per.shape[:-1], len(names)))
        for j in range(len(names)):  # a handful of names; each column is vectorised over hands
            out[..., j] = per[..., cols == j].max(-1)
        return names, out

    def _decide_rules(self, names: list[str], scores: np.ndarray) -> list[tuple[str, float]]:
        scores = np.atleast_2d(scores)
        if scores.shape[-1] == 0:
            return [(NONE, 1.0)] * scores.shape[0]
        order = np.argsort(-scores, axis=-1)
        best = np.take_along_axis(scores, order[:, :1], -1)[:, 0]
        second = np.take_along_axis(scores, order[:, 1:2], -1)[:, 0] if scores.shape[-1] > 1 else 0 * best
        out = []
        for i in range(scores.shape[0]):
            b, s = float(best[i]), float(second[i])
            if b < self.min_score:
                out.append((NONE, 1.0 - b))  # how far the best gesture is from matching at all
            elif b - s < self.margin:
                out.append((NONE, 0.5))  # two gestures match about equally: undecided
            else:
                out.append((names[int(order[i, 0])], b))
        return out

    def recognize_features(
        self, f: FingerFeatures, landmarks: np.ndarray | None = None, world: np.ndarray | None = None,
        handedness: Any = None,
    ) -> list[tuple[str, float]]:
        """Decide for a batch of features; the trained model (if any) also needs the landmarks."""
        names, scores = self.rule_scores(f)
        rules = self._decide_rules(names, scores.reshape(-1, len(names)) if names else scores.reshape(-1, 0))
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
        lm = np.stack([np.asarray(h.landmarks, np.float64) for h in hands])
        world = np.stack([np.asarray(h.world_landmarks, np.float64) for h in hands])
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
