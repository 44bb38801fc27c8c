"""MediaPipe's landmark and classification messages: real protobuf classes (:mod:`._protobuf_messages`; the
protobuf package comes with onnxruntime), or plain-Python stand-ins (:mod:`._plain_messages`) without it."""

from __future__ import annotations

try:
    from handtrace.mediapipe import _protobuf_messages as _impl
except ImportError:  # no protobuf: the stand-ins behave alike for reading, building and printing
    from handtrace.mediapipe import _plain_messages as _impl  # type: ignore[no-redef]

Classification = _impl.Classification
ClassificationList = _impl.ClassificationList
ClassificationListCollection = _impl.ClassificationListCollection
Landmark = _impl.Landmark
LandmarkList = _impl.LandmarkList
LandmarkListCollection = _impl.LandmarkListCollection
NormalizedLandmark = _impl.NormalizedLandmark
NormalizedLandmarkList = _impl.NormalizedLandmarkList
NormalizedLandmarkListCollection = _impl.NormalizedLandmarkListCollection
landmark_list = _impl.landmark_list
normalized_landmark_list = _impl.normalized_landmark_list
#: Whether the messages are real protobufs.
PROTOBUF = _impl.__name__.endswith("_protobuf_messages")
