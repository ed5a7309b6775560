"""evals.bench.onnx: the pure part (row cosines); the backends themselves run in ``citeqa bench``.

No assertion depends on how fast anything ran; tiny runs use the hash embedder and a few thousand vectors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from evals.bench.onnx import row_cosines


def test_row_cosines():
    a = np.array([[1.0, 0.0], [0.0, 2.0]], dtype=np.float32)
    b = np.array([[1.0, 1.0], [0.0, 1.0]], dtype=np.float32)
    assert row_cosines(a, b) == pytest.approx([math.sqrt(0.5), 1.0])
