"""``mediapipe.framework.formats.landmark_pb2``: the landmark messages (plain Python, no protobuf)."""

from handtrace.mediapipe._messages import (
    Landmark,
    LandmarkList,
    LandmarkListCollection,
    NormalizedLandmark,
    NormalizedLandmarkList,
    NormalizedLandmarkListCollection,
)

__all__ = ["Landmark", "LandmarkList", "LandmarkListCollection", "NormalizedLandmark",
           "NormalizedLandmarkList", "NormalizedLandmarkListCollection"]
