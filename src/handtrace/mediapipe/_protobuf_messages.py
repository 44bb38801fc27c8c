"""MediaPipe's landmark and classification messages as real protobuf classes.

Built at import from a descriptor with MediaPipe's message names, field names and numbers
(``mediapipe/framework/formats/landmark.proto`` and ``classification.proto``, proto2), in a private descriptor
pool so they never clash with a real MediaPipe in the same process. So everything user code does with
MediaPipe's messages works: attributes, ``landmark.add()`` / ``extend``, ``HasField``, printing,
``google.protobuf.json_format.MessageToDict``, ``SerializeToString`` (same bytes as MediaPipe's).
"""

from __future__ import annotations

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto


def _build() -> dict[str, type]:
    proto = descriptor_pb2.FileDescriptorProto(
        name="handtrace/mediapipe/formats.proto", package="mediapipe", syntax="proto2")

    def message(name: str, fields: list[tuple[str, int, str | None]]) -> None:
        m = proto.message_type.add(name=name)
        for number, (field, kind, item) in enumerate(fields, 1):
            if item is None:
                m.field.add(name=field, number=number, type=kind, label=_F.LABEL_OPTIONAL)
            else:
                m.field.add(name=field, number=number, type=_F.TYPE_MESSAGE, label=_F.LABEL_REPEATED,
                            type_name=f".mediapipe.{item}")

    point = [(n, _F.TYPE_FLOAT, None) for n in ("x", "y", "z", "visibility", "presence")]
    for name in ("Landmark", "NormalizedLandmark"):
        message(name, point)
        message(f"{name}List", [("landmark", 0, name)])
        message(f"{name}ListCollection", [("landmark_list", 0, f"{name}List")])
    message("Classification", [("index", _F.TYPE_INT32, None), ("score", _F.TYPE_FLOAT, None),
                               ("label", _F.TYPE_STRING, None), ("display_name", _F.TYPE_STRING, None)])
    message("ClassificationList", [("classification", 0, "Classification")])
    message("ClassificationListCollection", [("classification_list", 0, "ClassificationList")])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return {m.name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"mediapipe.{m.name}"))
            for m in proto.message_type}


_CLASSES = _build()
Landmark = _CLASSES["Landmark"]
LandmarkList = _CLASSES["LandmarkList"]
LandmarkListCollection = _CLASSES["LandmarkListCollection"]
NormalizedLandmark = _CLASSES["NormalizedLandmark"]
NormalizedLandmarkList = _CLASSES["NormalizedLandmarkList"]
NormalizedLandmarkListCollection = _CLASSES["NormalizedLandmarkListCollection"]
Classification = _CLASSES["Classification"]
ClassificationList = _CLASSES["ClassificationList"]
ClassificationListCollection = _CLASSES["ClassificationListCollection"]


def normalized_landmark_list(points: np.ndarray) -> NormalizedLandmarkList:
    """(21, 3) normalised x, y, z -> NormalizedLandmarkList."""
    return NormalizedLandmarkList(landmark=[NormalizedLandmark(x=x, y=y, z=z)
                                            for x, y, z in np.asarray(points, np.float64).tolist()])


def landmark_list(points: np.ndarray) -> LandmarkList:
    """(21, 3) metres -> LandmarkList."""
    rows = np.asarray(points, np.float64).tolist()
    return LandmarkList(landmark=[Landmark(x=x, y=y, z=z) for x, y, z in rows])
