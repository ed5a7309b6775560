"""evals.bench.report: report.md and plots of a tiny run, and of an empty one.

No assertion depends on how fast anything ran; tiny runs use the hash embedder and a few thousand vectors.
"""

from __future__ import annotations

from evals.bench.report import render_markdown, write_report


def test_report_on_a_tiny_run(tiny_result, tmp_path):
    result = tiny_result
    path = write_report(result, tmp_path / "out")
    text = path.read_text(encoding="utf-8")
    for heading in ("## 1. Indexing", "## 2. Query latency", "## 3. Vector search", "## 4. Memory", "## 5. ONNX"):
        assert heading in text
    assert "RuntimeError: boom" in text
    assert "2,000 vectors" in text and "`IVF" in text
    for png in ("indexing.png", "latency.png", "vectors.png", "vectors_scaling.png"):
        assert (tmp_path / "out" / png).stat().st_size > 1000
        assert f"({png})" in text
    assert "Not measured." in text  # the missing ONNX section


def test_report_tolerates_an_empty_result():
    text = render_markdown({"meta": {}, "errors": {}}, {})
    assert text.count("Not measured.") == 5
