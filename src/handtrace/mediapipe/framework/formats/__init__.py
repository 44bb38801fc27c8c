"""``mediapipe.framework.formats``: the message modules hand code imports."""

from handtrace.mediapipe.framework.formats import classification_pb2, landmark_pb2

__all__ = ["classification_pb2", "landmark_pb2"]
