"""Plain-Python stand-ins for the protobuf messages MediaPipe's legacy API returns, used where the protobuf
package is missing (it comes with onnxruntime, so normally :mod:`._protobuf_messages` is used).

``landmark_pb2.NormalizedLandmark`` / ``NormalizedLandmarkList`` / ``LandmarkList`` and
``classification_pb2.Classification`` / ``ClassificationList``, with what user code relies on: keyword
construction, attribute access, ``HasField``, ``ListFields``, equality, repeated fields that are lists with
``add()`` / ``extend()``, and ``str()`` / ``repr()`` in protobuf text format (what ``print(results...)``
shows).
No protobuf dependency.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np


def _float_text(value: float) -> str:
    # Protobuf stores these as float32 and prints 9 significant digits (``x: 0.809212506``, ``z: -0``).
    return f"{float(np.float32(value)):.9g}"


class _Message:
    """A message with scalar fields (name -> default) and repeated message fields (name -> type)."""

    _scalars: ClassVar[dict[str, Any]] = {}
    _repeated: ClassVar[dict[str, type[_Message]]] = {}
    __slots__ = ("_set",)

    def __init__(self, **fields: Any) -> None:
        object.__setattr__(self, "_set", set())
        for name, kind in self._repeated.items():
            object.__setattr__(self, name, RepeatedField(kind))
        for name, value in fields.items():
            if name in self._repeated:
                getattr(self, name).extend(value)
            else:
                setattr(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._repeated:
            raise AttributeError(f'Assignment not allowed to repeated field "{name}" in protocol message '
                                 "object.")
        default = self._scalars.get(name, _MISSING)
        if default is _MISSING:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}")
        # Float fields are float32 in MediaPipe's protos: store what reading them back there gives.
        value = float(np.float32(value)) if isinstance(default, float) else type(default)(value)
        object.__setattr__(self, name, value)
        self._set.add(name)

    def __getattr__(self, name: str) -> Any:  # only called for unset scalar fields
        default = type(self)._scalars.get(name, _MISSING)
        if default is _MISSING:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}")
        return default

    def HasField(self, name: str) -> bool:
        if name not in self._scalars:
            raise ValueError(f'Protocol message {type(self).__name__} has no non-repeated field "{name}"')
        return name in self._set

    def ListFields(self) -> list[tuple[Any, Any]]:
        """(field descriptor stand-in with ``.name``, value) for set scalar and non-empty repeated fields."""
        out = []
        for name in (*self._scalars, *self._repeated):
            value = getattr(self, name)
            if (name in self._set) or (name in self._repeated and len(value)):
                out.append((_FieldName(name), value))
        return out

    def CopyFrom(self, other: _Message) -> None:
        self.Clear()
        self.MergeFrom(other)

    def MergeFrom(self, other: _Message) -> None:
        for name in other._set:
            setattr(self, name, getattr(other, name))
        for name in self._repeated:  # copies of the items, as protobuf makes
            for item in getattr(other, name):
                getattr(self, name).add().MergeFrom(item)

    def Clear(self) -> None:
        for name in list(self._set):
            object.__delattr__(self, name)
        self._set.clear()
        for name in self._repeated:
            getattr(self, name).clear()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in (*self._scalars, *self._repeated))

    __hash__ = None  # type: ignore[assignment]  # mutable, like protobuf messages

    def _text(self, indent: str) -> str:
        lines = []
        for name in self._scalars:
            if name in self._set:
                value = getattr(self, name)
                shown = (_float_text(value) if isinstance(value, float)
                         else f'"{value}"' if isinstance(value, str) else str(value))
                lines.append(f"{indent}{name}: {shown}\n")
        for name in self._repeated:
            for item in getattr(self, name):
                lines.append(f"{indent}{name} {{\n{item._text(indent + '  ')}{indent}}}\n")
        return "".join(lines)

    def __str__(self) -> str:
        return self._text("")

    __repr__ = __str__


class _FieldName:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


_MISSING = object()


class RepeatedField(list):
    """A repeated message field: a list of one message type, with protobuf's ``add(**fields)``."""

    def __init__(self, kind: type[_Message], items: Iterable[Any] = ()) -> None:
        super().__init__()
        self._kind = kind
        self.extend(items)

    def _check(self, item: Any) -> Any:
        if not isinstance(item, self._kind):
            raise TypeError(f"expected {self._kind.__name__}, got {type(item).__name__}")
        return item

    def add(self, **fields: Any) -> Any:
        item = self._kind(**fields)
        super().append(item)
        return item

    def append(self, item: Any) -> None:
        super().append(self._check(item))

    def extend(self, items: Iterable[Any]) -> None:
        super().extend(self._check(i) for i in items)

    def __str__(self) -> str:  # a list of messages prints like protobuf's repeated container
        return "[" + ", ".join(str(i) for i in self) + "]"

    __repr__ = __str__


class NormalizedLandmark(_Message):
    """x, y in [0, 1] of the image width / height; z depth at about the scale of x."""

    _scalars: ClassVar[dict[str, Any]] = {"x": 0.0, "y": 0.0, "z": 0.0, "visibility": 0.0, "presence": 0.0}
    __slots__ = ("presence", "visibility", "x", "y", "z")


class Landmark(_Message):
    """World landmark: x, y, z in metres."""

    _scalars: ClassVar[dict[str, Any]] = {"x": 0.0, "y": 0.0, "z": 0.0, "visibility": 0.0, "presence": 0.0}
    __slots__ = ("presence", "visibility", "x", "y", "z")


class NormalizedLandmarkList(_Message):
    _repeated: ClassVar[dict[str, type[_Message]]] = {"landmark": NormalizedLandmark}
    __slots__ = ("landmark",)


class LandmarkList(_Message):
    _repeated: ClassVar[dict[str, type[_Message]]] = {"landmark": Landmark}
    __slots__ = ("landmark",)


class Classification(_Message):
    _scalars: ClassVar[dict[str, Any]] = {"index": 0, "score": 0.0, "label": "", "display_name": ""}
    __slots__ = ("display_name", "index", "label", "score")


class ClassificationList(_Message):
    _repeated: ClassVar[dict[str, type[_Message]]] = {"classification": Classification}
    __slots__ = ("classification",)


class NormalizedLandmarkListCollection(_Message):
    _repeated: ClassVar[dict[str, type[_Message]]] = {"landmark_list": NormalizedLandmarkList}
    __slots__ = ("landmark_list",)


class LandmarkListCollection(_Message):
    _repeated: ClassVar[dict[str, type[_Message]]] = {"landmark_list": LandmarkList}
    __slots__ = ("landmark_list",)


class ClassificationListCollection(_Message):
    _repeated: ClassVar[dict[str, type[_Message]]] = {"classification_list": ClassificationList}
    __slots__ = ("classification_list",)


def _landmarks(kind: type[_Message], points: np.ndarray) -> list[Any]:
    """Messages with x, y, z set from (N, 3) values, rounded to float32 as MediaPipe stores them (fast path:
    the per-field checks of ``__setattr__`` are skipped, the values being known floats)."""
    items = []
    new, assign = object.__new__, object.__setattr__
    for x, y, z in np.asarray(points, np.float32).astype(np.float64).tolist():
        item = new(kind)
        assign(item, "_set", {"x", "y", "z"})
        assign(item, "x", x)
        assign(item, "y", y)
        assign(item, "z", z)
        items.append(item)
    return items


def normalized_landmark_list(points: np.ndarray) -> NormalizedLandmarkList:
    """(21, 3) normalised x, y, z -> NormalizedLandmarkList."""
    out = NormalizedLandmarkList()
    list.extend(out.landmark, _landmarks(NormalizedLandmark, points))
    return out


def landmark_list(points: np.ndarray) -> LandmarkList:
    """(21, 3) metres -> LandmarkList."""
    out = LandmarkList()
    list.extend(out.landmark, _landmarks(Landmark, points))
    return out
