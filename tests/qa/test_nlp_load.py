"""``qa.nlp_import.load_package``: the spaCy pipeline loaded with its tokenizer built once (from its file) and
without the component it ships disabled is the pipeline ``package.load()`` gives: the same tokenizer byte for byte,
the same active components and the same parses."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from qa.analysis import MODEL_PACKAGE
from qa.nlp_import import DISK_TOKENIZER, lean_spacy_import, load_package

pytestmark = pytest.mark.heavy  # two loads of the real pipeline (seconds)

REPO = Path(__file__).resolve().parents[2]
TRICKY = [
    "U.S. officials didn't say e.g. what's 3.5km vs. 12:30pm at http://example.com/a?b=1 :-) co-op Dr. Smith's",
    "Mr. Putin’s “visit” — in N.Y.C. at 5 p.m. on Nov. 24, 2015; can't, won't, y'all, 'tis.",
    "Who represented France at the ceremony held on October 31, 2012 in Paris?",
]


def _package() -> ModuleType:
    with lean_spacy_import():
        return __import__(MODEL_PACKAGE)


def _parse(doc) -> list[tuple]:  # noqa: ANN001 - a spaCy Doc
    return [(t.text, t.whitespace_, t.tag_, t.pos_, t.dep_, t.head.i, t.lemma_, t.ent_iob_, t.ent_type_,
             str(t.morph), t.is_sent_start, t.norm_, t.is_stop, t.like_num) for t in doc]


def test_the_pipeline_loaded_with_one_tokenizer_build_parses_as_spacys_own_load() -> None:
    package = _package()
    ours, spacys = load_package(package), package.load()
    assert ours.config["nlp"]["tokenizer"] == {"@tokenizers": DISK_TOKENIZER}  # the lean path was taken
    assert ours.tokenizer.to_bytes() == spacys.tokenizer.to_bytes()
    assert ours.pipe_names == spacys.pipe_names and ours.meta["version"] == spacys.meta["version"]
    assert spacys.disabled == ["senter"] and "senter" not in ours.component_names  # shipped disabled: not loaded
    texts = list(TRICKY)
    for name in ("seed_dev.jsonl", "seed_dev2.jsonl"):
        lines = (REPO / "evals" / "sets" / name).read_text(encoding="utf-8").splitlines()
        texts += [json.loads(line)["question"] for line in lines if line.strip()]
    texts += [p for f in sorted((REPO / "corpus" / "articles").iterdir())[:3]
              for p in f.read_text(encoding="utf-8").split("\n") if p.strip()]
    assert len(texts) > 150
    for a, b in zip(ours.pipe(texts), spacys.pipe(texts), strict=True):
        assert _parse(a) == _parse(b), a.text

