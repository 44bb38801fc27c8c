"""``handtrace.mediapipe``: the parts of ``mediapipe`` that hand-tracking code uses, run by handtrace.

Change one import and MediaPipe hand code runs on handtrace::

    import handtrace.mediapipe as mp          # was: import mediapipe as mp

    with mp.solutions.hands.Hands(static_image_mode=True) as hands:   # legacy solution
        results = hands.process(rgb)
    detector = mp.tasks.vision.HandLandmarker.create_from_options(     # Tasks API
        mp.tasks.vision.HandLandmarkerOptions(base_options=mp.tasks.BaseOptions(model_asset_path="x.task")))

For code you cannot edit, :func:`install` (or ``python -m handtrace.mediapipe script.py``) makes
``import mediapipe`` itself resolve to this module. See docs/mediapipe.md for what maps to what and what
differs.
"""

from handtrace.mediapipe import framework, solutions, tasks
from handtrace.mediapipe._image import Image, ImageFormat
from handtrace.mediapipe._install import install, installed, uninstall

#: The MediaPipe release whose API and behaviour this module follows (code that checks ``mp.__version__``).
__version__ = "0.10.21"

__all__ = ["Image", "ImageFormat", "__version__", "framework", "install", "installed", "solutions", "tasks",
           "uninstall"]
