"""``run_eval`` with a run folder: resume asks only what is missing, a longer --limit extends a run, and a bug in
the middle of a run still leaves the finished questions summarised on disk. Hash embedder over the seed articles."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_run import build_hash_qa

from evals.run import run_eval
from evals.sets import SETS_DIR, load_eval_set
from qa import QA

SEED_DEV = SETS_DIR / "seed_dev.jsonl"
ITEMS = load_eval_set(SEED_DEV)


@pytest.fixture(scope="module")
def hash_qa(tmp_path_factory: pytest.TempPathFactory) -> QA:
    return build_hash_qa(tmp_path_factory.mktemp("resume") / "index")


def _lines(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]


def test_resume_with_a_longer_limit_asks_only_the_new_questions(hash_qa: QA, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "run"
    first = run_eval(ITEMS[:4], hash_qa, k=5, progress=False, set_name="seed_dev", out_dir=out, set_path=SEED_DEV)
    assert first.summary["complete"] is True and len(_lines(out)) == 4
    asked: list[str] = []
    answer = QA.answer

    def counting(self: QA, question: str, *args: Any, **kwargs: Any) -> Any:
        asked.append(question)
        return answer(self, question, *args, **kwargs)

    monkeypatch.setattr(QA, "answer", counting)
    longer = run_eval(ITEMS[:7], hash_qa, k=5, progress=False, set_name="seed_dev", out_dir=out, set_path=SEED_DEV,
                      resume=True)
    assert asked == [it.question for it in ITEMS[4:7]]
    assert [r["id"] for r in _lines(out)] == [it.id for it in ITEMS[:7]]
    assert longer.records[:4] == json.loads(json.dumps(first.records))  # read back from the folder, not answered again
    assert longer.summary["n"] == 7 and longer.summary["resumed"] is True


def test_a_bug_mid_run_leaves_the_finished_questions_saved(hash_qa: QA, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "run"
    answer = QA.answer
    calls = {"n": 0}

    def third_fails(self: QA, question: str, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("a bug in the pipeline")
        return answer(self, question, *args, **kwargs)

    monkeypatch.setattr(QA, "answer", third_fails)
    with pytest.raises(RuntimeError, match="a bug in the pipeline"):
        run_eval(ITEMS[:6], hash_qa, k=5, progress=False, set_name="seed_dev", out_dir=out, set_path=SEED_DEV)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["complete"] is False and summary["n"] == 2 and summary["n_total"] == 6
    assert [r["id"] for r in _lines(out)] == [it.id for it in ITEMS[:2]]
    monkeypatch.setattr(QA, "answer", answer)
    done = run_eval(ITEMS[:6], hash_qa, k=5, progress=False, set_name="seed_dev", out_dir=out, set_path=SEED_DEV,
                    resume=True)
    assert done.summary["complete"] is True and done.summary["n"] == 6
