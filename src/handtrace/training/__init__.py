"""Training and fine-tuning of the hand models (``pip install handtrace[train]``: PyTorch, tqdm, matplotlib).

Never imported by the runtime. Stages, one module each:

* :mod:`~handtrace.training.data`: hand annotations from COCO, COCO-WholeBody, hand-graph-cnn's real-world
  set, handtrace's own JSON / JSON Lines output and a simple layout for your own photos;
* :mod:`~handtrace.training.landmark_data`: landmark-model crops (the runtime's region geometry, jittered) and
  augmentation;
* :mod:`~handtrace.training.landmark_train`: losses and the training loop;
* :mod:`~handtrace.training.export`: trained weights to ONNX in the packaged form;
* :mod:`~handtrace.training.cli`: ``handtrace train ...``.
"""
