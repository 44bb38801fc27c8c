"""``mediapipe.framework.formats.classification_pb2``: the classification messages (plain Python)."""

from handtrace.mediapipe._messages import Classification, ClassificationList, ClassificationListCollection

__all__ = ["Classification", "ClassificationList", "ClassificationListCollection"]
