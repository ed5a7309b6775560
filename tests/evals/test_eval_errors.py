"""evals/errors.py: the eval errors join citeqa's one error tree and stay ValueErrors."""

from __future__ import annotations

import json

import pytest

from corpus.errors import CiteqaError
from evals.errors import EvalError, EvalSetError, SquadImportError
from evals.importers import import_squad
from evals.sets import load_eval_set


def test_eval_errors_are_citeqa_errors_and_value_errors():
    for cls in (EvalSetError, SquadImportError):
        assert issubclass(cls, EvalError) and issubclass(cls, CiteqaError) and issubclass(cls, ValueError)


def test_what_the_loaders_raise_is_caught_as_a_citeqa_error(tmp_path):
    bad_set = tmp_path / "bad.jsonl"
    bad_set.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(CiteqaError, match="invalid eval set"):
        load_eval_set(bad_set)
    not_squad = tmp_path / "x.json"
    not_squad.write_text(json.dumps({"nothing": []}), encoding="utf-8")
    with pytest.raises(CiteqaError):
        import_squad(not_squad, tmp_path / "out")
