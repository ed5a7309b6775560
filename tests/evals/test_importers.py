"""SQuAD import (on a tiny hand-made file, and on XQuAD when it is on the machine) and feedback drafts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from corpus.load import load_articles
from evals.errors import EvalSetError, SquadImportError
from evals.feedback import read_feedback
from evals.importers import (
    doc_id_for,
    feedback_drafts,
    guess_type,
    import_squad,
    write_drafts,
)
from evals.sets import load_eval_set, validate_against_corpus

XQUAD = Path("/work/shared/benchmarks/xquad-en/xquad.en.json")

CTX1 = ("The Eiffel Tower was completed in March 1889. It is 330 metres tall. Gustave Eiffel's company "
        "designed and built it.")
CTX2 = "Paris has about 2.1 million inhabitants.\r\nIt is the capital of France.  "
CTX3 = "Warsaw is the capital of Poland. The Vistula river flows through it. Warsaw was rebuilt after 1945."


def _squad() -> dict[str, Any]:
    return {"version": "v2.0", "data": [
        {"title": "Eiffel_Tower/Paris (city)", "paragraphs": [
            {"context": CTX1, "qas": [
                {"id": "e1", "question": "When was the Eiffel Tower completed?",
                 "answers": [{"text": "March 1889", "answer_start": CTX1.index("March 1889")},
                             {"text": "1889", "answer_start": CTX1.index("1889")}], "is_impossible": False},
                {"id": "e2", "question": "How tall is the   Eiffel Tower?",
                 "answers": [{"text": "330 metres", "answer_start": 0}]},  # wrong offset: found by text
                {"id": "e3", "question": "Who designed it?",
                 "answers": [{"text": "Gustave Eiffel's company", "answer_start": CTX1.index("Gustave")}]},
                {"id": "e4", "question": "Who painted the tower red?", "answers": [], "is_impossible": True,
                 "plausible_answers": [{"text": "Gustave Eiffel", "answer_start": 71}]},
                {"id": "e5", "question": "What is missing?", "answers": [{"text": "not in text", "answer_start": 3}]},
            ]},
            {"context": CTX2, "qas": [
                {"id": "p1", "question": "What city is the capital of France?",
                 "answers": [{"text": "Paris", "answer_start": 0}]},
            ]},
        ]},
        {"title": "Warsaw", "paragraphs": [
            {"context": CTX3, "qas": [
                {"id": "w1", "question": "Why was Warsaw rebuilt?", "answers": [{"text": "after 1945",
                                                                                 "answer_start": CTX3.index("after")}]},
                {"id": "e1", "question": "Which river flows through Warsaw?",
                 "answers": [{"text": "The Vistula", "answer_start": CTX3.index("The Vistula")}]},
            ]},
        ]},
    ]}  # fmt: skip


def _write_squad(tmp_path: Path, data: Any = None) -> Path:
    path = tmp_path / "squad.json"
    path.write_text(json.dumps(_squad() if data is None else data), encoding="utf-8")
    return path


def test_import_squad_writes_articles_and_a_valid_eval_set(tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = import_squad(_write_squad(tmp_path), out)
    files = sorted(p.name for p in (out / "articles").iterdir())
    assert files == ["Eiffel_Tower_Paris_city.txt", "Warsaw.txt"]
    text = (out / "articles" / "Eiffel_Tower_Paris_city.txt").read_text(encoding="utf-8")
    assert text.startswith("Eiffel Tower/Paris (city)\n\n" + CTX1 + "\n\nParis has about 2.1 million inhabitants.\n")
    assert "\r" not in text

    items = {it.id: it for it in load_eval_set(out / "eval.jsonl")}
    assert list(items) == ["e1", "e2", "e3", "e4", "p1", "w1", "e1-2"]  # e5 skipped; the duplicate id renamed
    assert report.questions == 7 and report.unanswerable == 1 and report.articles == 2
    assert report.skipped == ["e5: no answer span found in its context"]
    e1 = items["e1"]
    assert e1.answers == ("March 1889", "1889") and e1.doc == "Eiffel_Tower_Paris_city.txt"
    assert e1.evidence == ("The Eiffel Tower was completed in March 1889.",) and e1.type == "date"
    assert items["e2"].question == "How tall is the Eiffel Tower?" and items["e2"].type == "numeric"
    assert items["e2"].evidence == ("It is 330 metres tall.",)
    assert items["e3"].type == "factoid"
    e4 = items["e4"]
    assert (e4.answers, e4.doc, e4.evidence, e4.type) == ((), None, (), "unanswerable")
    assert items["p1"].evidence == ("Paris has about 2.1 million inhabitants.",)
    assert items["w1"].type == "why/explanation"
    assert report.types == {"date": 1, "numeric": 1, "factoid": 3, "unanswerable": 1, "why/explanation": 1}

    # every evidence quote is in the article text the index will store
    articles = {a.doc_id: a.text for a in load_articles([out / "articles"]).articles}
    assert validate_against_corpus(list(items.values()), articles) == []
    assert load_articles([out / "articles"]).articles[0].title == "Eiffel Tower/Paris (city)"


def test_import_limit_spreads_questions_and_writes_only_their_articles(tmp_path: Path) -> None:
    # 8 questions, limit 3: every 8/3-th → the 1st, 3rd and 6th
    report = import_squad(_write_squad(tmp_path), tmp_path / "out", limit=3)
    assert [it.id for it in load_eval_set(tmp_path / "out" / "eval.jsonl")] == ["e1", "e3", "p1"]
    assert report.articles == 1 and [p.name for p in (tmp_path / "out" / "articles").iterdir()] == [
        "Eiffel_Tower_Paris_city.txt"]


def test_import_refuses_a_non_empty_articles_folder_unless_forced(tmp_path: Path) -> None:
    src = _write_squad(tmp_path)
    import_squad(src, tmp_path / "out")
    with pytest.raises(SquadImportError, match="--force"):
        import_squad(src, tmp_path / "out")
    assert import_squad(src, tmp_path / "out", force=True).questions == 7


@pytest.mark.parametrize(
    ("content", "message"),
    [("{not json", "not JSON"), ('{"data": [{"title": "x"}]}', "not SQuAD format"), ("[1, 2]", "not SQuAD format"),
     ('{"data": [{"title": "x", "paragraphs": [{"context": "c", "qas": []}]}]}', "no questions")],
)
def test_import_errors_are_clear(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SquadImportError, match=message):
        import_squad(path, tmp_path / "out")


@pytest.mark.parametrize(
    ("question", "answer", "expected"),
    [
        ("When did the war end?", "1918", "date"),
        ("What year did Tesla die?", "1943", "date"),
        ("Who won?", "May 3, 2001", "date"),
        ("In what decade did it grow?", "1990s", "date"),
        ("How many points did the Panthers surrender?", "308", "numeric"),
        ("What is the population?", "17,786,419", "numeric"),
        ("How many nations?", "four", "numeric"),
        ("What was the number?", "308", "numeric"),
        ("Who sang the anthem?", "Lady Gaga", "factoid"),
        ("Why was it rebuilt?", "the war", "why/explanation"),
        ("Which team won?", "Denver Broncos", "factoid"),
    ],
)
def test_guess_type(question: str, answer: str, expected: str) -> None:
    assert guess_type(question, answer) == expected


def test_doc_ids_are_safe_and_unique() -> None:
    taken: set[str] = set()
    assert doc_id_for("Super_Bowl_50", taken) == "Super_Bowl_50.txt"
    assert doc_id_for("super bowl 50", taken) == "super_bowl_50-2.txt"  # case-insensitive file systems
    assert doc_id_for("../../etc/passwd", taken) == "etc_passwd.txt"
    assert doc_id_for("???", taken) == "article.txt"


@pytest.mark.skipif(not XQUAD.is_file(), reason="XQuAD benchmark not on this machine")
def test_xquad_imports_cleanly(tmp_path: Path) -> None:
    report = import_squad(XQUAD, tmp_path, limit=120)
    assert report.skipped == [] and report.questions == 120 and report.unanswerable == 0
    items = load_eval_set(tmp_path / "eval.jsonl")
    articles = {a.doc_id: a.text for a in load_articles([tmp_path / "articles"]).articles}
    assert validate_against_corpus(items, articles) == []
    assert {"factoid", "numeric", "date"} <= {it.type for it in items}


# -- feedback → drafts ------------------------------------------------------------------------------------


def _fb(verdict: str, question: str, **kw: Any) -> dict[str, Any]:
    base = {"time": "2025-01-01T12:00:00+00:00", "verdict": verdict, "comment": "", "question": question,
            "history": [], "answer": "Some answer [1]", "refused": False, "query": question, "backend": "extractive",
            "citations": [{"n": 1, "doc_id": "a.txt", "title": "A", "start": 0, "end": 5, "quote": "Hello",
                           "supported": True}]}
    base.update(kw)
    return base


def test_feedback_drafts_from_thumbs_down_only(tmp_path: Path) -> None:
    hist = [{"role": "user", "content": "Who came?"}, {"role": "assistant", "content": "Putin [1]"}]
    records = [
        _fb("up", "Where was it?"),
        _fb("down", "Where was it?", comment="wrong place"),
        _fb("down", "  Where   was it? ", comment="still wrong"),  # same question: one draft, both comments
        _fb("down", "When?", history=hist),
        _fb("down", ""),
    ]
    drafts = feedback_drafts(records)
    assert [d["question"] for d in drafts] == ["Where was it?", "When?"]
    first, follow = drafts
    assert first["id"].startswith("fb-") and first["type"] == "factoid" and "history" not in first
    assert first["answers"] == [] and first["doc"] is None and first["evidence"] == []
    assert first["needs_review"] is True
    assert first["review"]["comment"] == "wrong place | still wrong"
    assert first["review"]["cited"] == [{"doc_id": "a.txt", "quote": "Hello"}]
    assert first["review"]["suggested_docs"] == ["a.txt"]
    assert follow["type"] == "follow-up" and follow["history"] == hist
    assert feedback_drafts(records)[0]["id"] == first["id"]  # stable ids


def test_drafts_are_appended_once_and_rejected_until_completed(tmp_path: Path) -> None:
    fb = tmp_path / "feedback.jsonl"
    fb.write_text("\n".join([json.dumps(_fb("down", "Where was it?")), "{cut", json.dumps(_fb("up", "x"))]) + "\n",
                  encoding="utf-8")
    records, bad = read_feedback(fb)
    assert len(records) == 2 and bad == 1
    out = tmp_path / "drafts.jsonl"
    assert write_drafts(feedback_drafts(records), out) == (1, 0)
    assert write_drafts(feedback_drafts(records), out) == (0, 1)
    with pytest.raises(EvalSetError, match="unknown keys: needs_review, review"):
        load_eval_set(out)
    draft = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    for key in ("needs_review", "review"):
        del draft[key]
    draft.update(answers=["Versailles"], doc="a.txt", evidence=["at Versailles"])
    out.write_text(json.dumps(draft) + "\n", encoding="utf-8")
    assert load_eval_set(out)[0].answers == ("Versailles",)
