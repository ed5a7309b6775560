"""The eval set loader, its validation, and the shipped sets (evals/sets/*.jsonl) against the seed articles."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from evals.errors import EvalSetError
from evals.metrics import contains
from evals.sets import QUESTION_TYPES, SETS_DIR, EvalItem, Turn, load_eval_set, validate_against_corpus

SEED_DEV = SETS_DIR / "seed_dev.jsonl"
SEED_DEV2 = SETS_DIR / "seed_dev2.jsonl"
SEED_DEV3 = SETS_DIR / "seed_dev3.jsonl"
SHIPPED_SETS = sorted(SETS_DIR.glob("*.jsonl"))

A = "a.txt"
B = "b.txt"


def _line(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"id": "q1", "question": "Where?", "answers": ["Versailles"], "doc": A,
                            "evidence": ["at Versailles"], "type": "factoid"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not _DROP}


_DROP = object()


def _write(tmp_path: Path, *objs: Any, name: str = "set.jsonl") -> Path:
    path = tmp_path / name
    lines = [o if isinstance(o, str) else json.dumps(o, ensure_ascii=False) for o in objs]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _error(tmp_path: Path, *objs: Any) -> EvalSetError:
    path = _write(tmp_path, *objs)
    with pytest.raises(EvalSetError) as info:
        load_eval_set(path)
    return info.value


# ------------------------------------------------------------------------------------------ the loader


def test_loads_a_valid_set_into_frozen_items(tmp_path: Path) -> None:
    history = [{"role": "user", "content": "Where?"}, {"role": "assistant", "content": "Versailles."}]
    path = _write(
        tmp_path,
        _line(),
        "",  # blank lines are ignored
        _line(id="q2", doc=[A, B], type="multi-doc", evidence=["x", "y"]),
        _line(id="q3", answers=[], doc=None, evidence=[], type="unanswerable"),
        _line(id="q4", type="follow-up", history=history),
    )
    items = load_eval_set(path)
    assert [i.id for i in items] == ["q1", "q2", "q3", "q4"]
    assert items[0] == EvalItem(id="q1", question="Where?", answers=("Versailles",), doc=A,
                                evidence=("at Versailles",), type="factoid", line=1)
    assert items[1].doc == (A, B) and items[1].docs == (A, B) and items[1].line == 3
    assert items[0].docs == (A,)
    assert items[2].docs == () and not items[2].answerable and items[0].answerable
    assert items[3].history == (Turn("user", "Where?"), Turn("assistant", "Versailles."))
    assert items[3].history_messages() == history
    with pytest.raises(AttributeError):
        items[0].question = "changed"  # type: ignore[misc]


def test_to_dict_round_trips_the_file_format(tmp_path: Path) -> None:
    objs = [_line(), _line(id="q2", doc=[A, B], type="multi-doc", evidence=["x", "y"]),
            _line(id="q3", type="follow-up", history=[{"role": "user", "content": "u"},
                                                      {"role": "assistant", "content": "a"}])]
    items = load_eval_set(_write(tmp_path, *objs))
    assert [i.to_dict() for i in items] == objs


def test_bad_json_names_file_and_line(tmp_path: Path) -> None:
    err = _error(tmp_path, _line(), '{"id": "q2", "question": ')
    assert err.problems[0][0] == 2
    assert "set.jsonl:2: bad JSON" in str(err)


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    err = _error(tmp_path, "[1, 2]", _line(id="q2"), _line(id="q3", type="opinion"), "not json")
    assert [line for line, _ in err.problems] == [1, 3, 4]
    assert "expected a JSON object" in err.problems[0][1]


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (_line(question=_DROP), "missing keys: question"),
        (_line(evidence=_DROP, doc=_DROP), "missing keys: doc, evidence"),
        (_line(answer=["x"]), "unknown keys: answer"),
        (_line(type="opinion"), "unknown type 'opinion'"),
        (_line(question="  "), "'question' must be a non-empty string"),
        (_line(id=7), "'id' must be a non-empty string"),
        (_line(answers="Versailles"), "'answers' must be a list of non-empty strings"),
        (_line(evidence=["ok", ""]), "'evidence' must be a list of non-empty strings"),
        (_line(doc=[A, A], type="multi-doc"), "'doc' must be a file name"),
        (_line(doc=[]), "'doc' must be a file name"),
        (_line(answers=[]), "an unanswerable question needs \"doc\": null"),
        (_line(answers=[], type="unanswerable"), "'answers' is empty but 'doc' is set"),
        (_line(doc=None, evidence=[]), "'doc' is null but 'answers' is not empty"),
        (_line(answers=[], doc=None, type="unanswerable"), "'evidence' must be empty when 'doc' is null"),
        (_line(evidence=[]), "needs at least one 'evidence' quote"),
        (_line(type="unanswerable"), "type 'unanswerable' needs \"answers\": []"),
        (_line(type="multi-doc"), "type 'multi-doc' needs 'doc' to list at least two files"),
        (_line(type="follow-up"), "type 'follow-up' needs a 'history'"),
    ],
)
def test_malformed_line_is_rejected_with_reason(tmp_path: Path, obj: dict[str, Any], message: str) -> None:
    err = _error(tmp_path, _line(id="q0"), obj)
    assert len(err.problems) >= 1 and all(line == 2 for line, _ in err.problems)
    assert message in str(err)
    assert "set.jsonl:2:" in str(err)


U = {"role": "user", "content": "Which ministers?"}
AS = {"role": "assistant", "content": "Parly and Le Drian."}


@pytest.mark.parametrize(
    ("history", "message"),
    [
        ([], "'history' must be a non-empty list"),
        ({"role": "user"}, "'history' must be a non-empty list"),
        ([U], "must end with an 'assistant' turn"),
        ([AS, U], "turn 0 should be 'user'"),
        ([U, U, AS], "turn 1 should be 'assistant'"),
        ([U, {"role": "system", "content": "x"}], "unknown role 'system'"),
        ([U, {"role": "assistant"}], "exactly 'role' and 'content'"),
        ([U, {"role": "assistant", "content": "x", "extra": 1}], "exactly 'role' and 'content'"),
        ([U, {"role": "assistant", "content": ""}], "non-empty string 'content'"),
        (["user: hi"], "exactly 'role' and 'content'"),
    ],
)
def test_malformed_history_is_rejected(tmp_path: Path, history: Any, message: str) -> None:
    err = _error(tmp_path, _line(type="follow-up", history=history))
    assert message in str(err)


def test_duplicate_id_points_at_first_occurrence(tmp_path: Path) -> None:
    err = _error(tmp_path, _line(), _line(question="Again?"))
    assert err.problems == [(2, "duplicate id 'q1' (first on line 1)")]


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(EvalSetError, match="cannot read file"):
        load_eval_set(tmp_path / "nope.jsonl")
    with pytest.raises(EvalSetError, match="no questions"):
        load_eval_set(_write(tmp_path, "", "  "))


def test_error_is_a_value_error_and_lists_at_most_fifty_problems(tmp_path: Path) -> None:
    err = _error(tmp_path, *["{"] * 60)
    assert isinstance(err, ValueError)
    assert len(err.problems) == 60
    assert "and 10 more problems" in str(err)


# ------------------------------------------------------------------------- validation against the corpus


def _item(**kw: Any) -> EvalItem:
    base: dict[str, Any] = {"id": "q1", "question": "?", "answers": ("x",), "doc": A, "evidence": ("quote",),
                            "type": "factoid"}
    base.update(kw)
    return EvalItem(**base)


def test_validate_accepts_consistent_items() -> None:
    articles = {A: "a quote here", B: "another text"}
    items = [_item(), _item(id="q2", doc=(A, B), evidence=("quote", "another")),
             _item(id="q3", answers=(), doc=None, evidence=(), type="unanswerable")]
    assert validate_against_corpus(items, articles) == []


def test_validate_reports_unknown_doc_and_missing_quote() -> None:
    articles = {A: "a quote here"}
    problems = validate_against_corpus([_item(doc="zz.txt"), _item(id="q2", evidence=("absent words",), line=9)],
                                       articles)
    assert problems[0] == "q1: unknown doc 'zz.txt'"
    assert problems[1].startswith("q2 (line 9): evidence not found in a.txt: 'absent words'")


def test_validate_requires_exact_text_and_hints_at_whitespace() -> None:
    articles = {A: "met in\u00a0Paris on May 29"}
    (problem,) = validate_against_corpus([_item(evidence=("met in Paris",))], articles)
    assert "only after collapsing whitespace" in problem
    (problem,) = validate_against_corpus([_item(evidence=("Met in\u00a0Paris",))], articles)
    assert "only after collapsing" not in problem  # case differs: not a whitespace issue


def test_validate_quote_must_come_from_the_items_own_docs() -> None:
    articles = {A: "alpha", B: "beta"}
    problems = validate_against_corpus([_item(doc=A, evidence=("beta",))], articles)
    assert problems and "evidence not found in a.txt" in problems[0]


def test_validate_each_listed_doc_needs_a_quote() -> None:
    articles = {A: "alpha", B: "beta"}
    problems = validate_against_corpus([_item(doc=(A, B), evidence=("alpha",), type="multi-doc")], articles)
    assert problems == ["q1: doc 'b.txt' has no evidence quote"]


# ---------------------------------------------------------------------------------- the shipped sets


def test_the_shipped_sets_are_found() -> None:
    """The parametrised checks below run over every shipped set; they must not silently run over none."""
    assert SEED_DEV in SHIPPED_SETS and SEED_DEV2 in SHIPPED_SETS and SEED_DEV3 in SHIPPED_SETS


@pytest.fixture(scope="module", params=SHIPPED_SETS, ids=lambda p: p.stem)
def shipped_items(request: pytest.FixtureRequest) -> list[EvalItem]:
    return load_eval_set(request.param)


def test_shipped_set_ids_are_sequential(shipped_items: list[EvalItem]) -> None:
    assert [i.id for i in shipped_items] == [f"q{n:03d}" for n in range(1, len(shipped_items) + 1)]


def test_shipped_set_follow_ups_have_a_conversation(shipped_items: list[EvalItem]) -> None:
    for item in shipped_items:
        if item.type == "follow-up":
            assert len(item.history) >= 2 and item.history[-1].role == "assistant", item.id


def test_shipped_set_questions_are_distinct(shipped_items: list[EvalItem]) -> None:
    keys = Counter((i.question.casefold(), tuple(t.content for t in i.history)) for i in shipped_items)
    assert [k for k, n in keys.items() if n > 1] == []


def _stated(answer: str, evidence: str) -> bool:
    """The evidence states the answer, or each part of an "X and Y" answer drawn from several quotes."""
    return bool(contains(evidence, [answer])) or all(contains(evidence, [part]) for part in answer.split(" and "))


def test_shipped_set_gold_answers_are_in_their_evidence(shipped_items: list[EvalItem]) -> None:
    """Each answerable item but a comparison (its gold may be a verdict: "no") has a gold answer its evidence states."""
    missing = [i.id for i in shipped_items if i.answerable and i.type != "comparison"
               and not any(_stated(a, " ".join(i.evidence)) for a in i.answers)]
    assert missing == []


def test_shipped_set_evidence_is_verbatim_in_raw_articles(shipped_items: list[EvalItem], seeds_dir: Path) -> None:
    raw = {p.name: p.read_text(encoding="utf-8") for p in seeds_dir.glob("*.txt")}
    assert validate_against_corpus(shipped_items, raw) == []


def test_shipped_set_evidence_is_verbatim_in_cleaned_articles(shipped_items: list[EvalItem], seeds_dir: Path) -> None:
    """Citations point into the cleaned text, so the gold quotes must survive cleaning unchanged."""
    try:
        from corpus.load import load_articles
    except ModuleNotFoundError as exc:
        if exc.name not in ("corpus.load", "corpus"):
            raise
        pytest.skip("corpus.load is not written yet")
    res = load_articles([seeds_dir])
    cleaned = {a.doc_id: a.text for a in res.articles}
    assert validate_against_corpus(shipped_items, cleaned) == []


# ---------------------------------------------------------------------------------- seed_dev and seed_dev2


@pytest.fixture(scope="module")
def seed_items() -> list[EvalItem]:
    return load_eval_set(SEED_DEV)


@pytest.fixture(scope="module")
def seed2_items() -> list[EvalItem]:
    return load_eval_set(SEED_DEV2)


def test_seed_dev_size_and_type_coverage(seed_items: list[EvalItem]) -> None:
    counts = Counter(i.type for i in seed_items)
    assert len(seed_items) >= 60
    assert set(counts) == set(QUESTION_TYPES)
    assert counts["unanswerable"] >= 10
    assert counts["follow-up"] >= 10
    assert sum(1 for i in seed_items if len(i.docs) >= 2) >= 5


def test_seed_dev_covers_every_seed_article(seed_items: list[EvalItem], seeds_dir: Path) -> None:
    used = Counter(d for i in seed_items for d in i.docs)
    assert set(used) == {p.name for p in seeds_dir.glob("*.txt")}
    assert min(used.values()) >= 8


def test_seed_dev2_size_and_type_coverage(seed2_items: list[EvalItem], seeds_dir: Path) -> None:
    """seed_dev2 weighs refusals: more unanswerable questions, some of them follow-ups, plus two-hop items."""
    counts = Counter(i.type for i in seed2_items)
    assert len(seed2_items) >= 90
    assert set(counts) == set(QUESTION_TYPES)
    assert sum(1 for i in seed2_items if not i.answerable) >= 35
    assert any(i.type == "follow-up" and not i.answerable for i in seed2_items)
    assert counts["follow-up"] >= 10 and counts["multi-doc"] >= 8
    assert {d for i in seed2_items for d in i.docs} == {p.name for p in seeds_dir.glob("*.txt")}


def test_seed_dev2_does_not_repeat_seed_dev(seed_items: list[EvalItem], seed2_items: list[EvalItem]) -> None:
    asked = {i.question.casefold() for i in seed_items if not i.history}
    assert [i.id for i in seed2_items if not i.history and i.question.casefold() in asked] == []


def test_seed_dev3_size_and_type_coverage(seeds_dir: Path) -> None:
    """seed_dev3, the held-out set: every type, about 30 unanswerables (some follow-ups), multi-document items."""
    items = load_eval_set(SEED_DEV3)
    counts = Counter(i.type for i in items)
    assert len(items) >= 100
    assert set(counts) == set(QUESTION_TYPES)
    assert sum(1 for i in items if not i.answerable) >= 28
    assert any(i.type == "follow-up" and not i.answerable for i in items)
    assert counts["follow-up"] >= 10 and sum(1 for i in items if len(i.docs) >= 2) >= 8
    assert {d for i in items for d in i.docs} == {p.name for p in seeds_dir.glob("*.txt")}


def test_seed_dev3_does_not_repeat_the_dev_sets(seed_items: list[EvalItem], seed2_items: list[EvalItem]) -> None:
    asked = {i.question.casefold() for i in [*seed_items, *seed2_items] if not i.history}
    assert [i.id for i in load_eval_set(SEED_DEV3) if not i.history and i.question.casefold() in asked] == []
