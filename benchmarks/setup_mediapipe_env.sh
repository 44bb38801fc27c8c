#!/usr/bin/env bash
# Create .venv-mediapipe/ in the repo root with MediaPipe 0.10.21 (the reference implementation).
# MediaPipe 0.10.21 needs numpy<2, so it lives apart from the project's own environment.
# Idempotent: does nothing when the environment already imports the pinned versions.
# Usage: benchmarks/setup_mediapipe_env.sh   (PYTHON=python3.11 to pick the interpreter; 3.9-3.12)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-mediapipe"
PYTHON="${PYTHON:-python3}"

check() {
    "$VENV/bin/python" - <<'PY' 2>/dev/null
import cv2, mediapipe, numpy
assert mediapipe.__version__ == "0.10.21", mediapipe.__version__
assert int(numpy.__version__.split(".")[0]) < 2, numpy.__version__
PY
}

if [[ -x "$VENV/bin/python" ]] && check; then
    echo "$VENV already set up (mediapipe 0.10.21); nothing to do."
    exit 0
fi

"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# mediapipe 0.10.21 depends on opencv-contrib-python, which provides cv2; a second OpenCV wheel
# (opencv-python-headless) would overwrite the same cv2/ files, so only that one is pinned here.
"$VENV/bin/python" -m pip install --quiet \
    "mediapipe==0.10.21" "numpy<2" "opencv-contrib-python<4.11"
check
"$VENV/bin/python" -c "import cv2, mediapipe, numpy; \
print('mediapipe', mediapipe.__version__, 'numpy', numpy.__version__, 'cv2', cv2.__version__)"
echo "Ready: $VENV/bin/python benchmarks/mediapipe_reference.py --help"
