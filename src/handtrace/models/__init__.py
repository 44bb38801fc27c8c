"""PyTorch definitions of MediaPipe's hand models, and their conversion to ONNX.

Needs the optional ``convert`` extra and PyTorch (``pip install torch==2.13.0``); the runtime
(``handtrace.runtime``) only needs onnxruntime and the exported files in ``handtrace/assets``.
"""
