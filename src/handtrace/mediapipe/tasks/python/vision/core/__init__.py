"""Running mode and image processing options of the vision tasks."""

from handtrace.mediapipe.tasks.python.vision.core import image_processing_options, vision_task_running_mode

__all__ = ["image_processing_options", "vision_task_running_mode"]
