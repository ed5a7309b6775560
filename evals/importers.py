"""Eval sets from elsewhere: public SQuAD-format benchmarks, and thumbs-down feedback from the chat UI.

``import_squad`` turns a SQuAD v1.1 / v2.0 JSON file into a corpus and an eval set::

    DIR/articles/<title>.txt   one article per SQuAD title: the title on the first line, then its
                               contexts (paragraphs) separated by blank lines
    DIR/eval.jsonl             one line per question: the answer texts, doc = that article, evidence =
                               the sentence(s) of the context holding the answer span, a type guessed
                               from the question and answer (date / numeric / factoid), and
                               ``is_impossible`` questions as unanswerable (answers [], doc null)

Index the articles into their own folder and run the set against it::

    citeqa eval import-squad xquad.en.json --out data/xquad
    citeqa --index-dir data/xquad/index index data/xquad/articles
    citeqa --index-dir data/xquad/index eval data/xquad/eval.jsonl

``feedback_drafts`` turns thumbs-down lines of the UI's feedback file into *draft* eval lines. A draft
has the question (and history) but not the gold answer, which only a person can supply, so it carries
``"needs_review": true`` and a ``"review"`` object (the comment, the answer given, what it cited). The
eval set loader rejects those two keys: a draft cannot slip into a run before someone completes it by
filling ``answers``, ``doc``, ``evidence`` and ``type`` (or leaving ``answers: []`` and ``doc: null``
with type ``unanswerable``) and deleting ``needs_review`` and ``review``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpus.errors import ArticleError
from corpus.load import load_article
from corpus.sentences import split_sentences
from evals.errors import SquadImportError
from evals.sets import EvalItem, validate_against_corpus

logger = logging.getLogger(__name__)

ARTICLES_DIR = "articles"
EVAL_FILE = "eval.jsonl"
_MAX_STEM_CHARS = 80

_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
          r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_WHY_QUESTION = re.compile(r"^\s*(?:why|how come)\b|\bfor what reason\b", re.IGNORECASE)
_DATE_QUESTION = re.compile(
    r"^\s*when\b|\b(?:what|which|in what|in which)\s+(?:year|years|date|day|month|decade|century|era|time period)\b",
    re.IGNORECASE,
)
_DATE_ANSWER = re.compile(
    rf"^(?:(?:in|on|by|since|circa|c\.|around|about|the)\s+)?(?:"
    rf"(?:\d{{1,2}}\s+)?{_MONTH}\.?(?:\s+\d{{1,2}}(?:st|nd|rd|th)?)?,?(?:\s+\d{{3,4}})?"  # May 3, 2001 / 3 May 2001
    rf"|(?:1\d|20)\d\d'?s?|\d{{1,4}}\s*(?:bc|bce|ad|ce)"  # 1995 / 1990s / 200 BC
    rf"|(?:early|mid|late)[\s-]+\d{{3,4}}s?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)[\s-]+centur(?:y|ies)(?:\s*(?:bc|bce|ad|ce))?"
    rf"|\d{{1,4}}\s*[-–]\s*\d{{1,4}}"  # 1914–1918
    rf")$",
    re.IGNORECASE,
)
_NUMERIC_QUESTION = re.compile(
    r"\bhow\s+(?:many|much|long|old|far|large|big|tall|high|deep|wide|often|fast|heavy)\b"
    r"|\b(?:what|which)\s+(?:percentage|percent|proportion|fraction|number|amount|ratio|rate)\b",
    re.IGNORECASE,
)
_NUMBER_WORDS = ("zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen"
                 "|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
                 "|hundred|thousand|million|billion|trillion|half|dozen")
_NUMERIC_ANSWER = re.compile(
    rf"^(?:about|around|over|nearly|almost|approximately|more than|less than|some)?\s*[$£€¥]?\s*"
    rf"(?:\d[\d,.]*(?:\s*[½¼¾])?|{_NUMBER_WORDS})(?:[\s-]+(?:{_NUMBER_WORDS}))*"
    rf"(?:\s*(?:%|percent|per cent))?(?:\s+[a-z]+){{0,2}}$",
    re.IGNORECASE,
)


@dataclass
class ImportReport:
    """What ``import_squad`` wrote: counts, the files, and the questions it had to skip (with why)."""

    articles: int = 0
    questions: int = 0
    unanswerable: int = 0
    types: Counter[str] = field(default_factory=Counter)
    skipped: list[str] = field(default_factory=list)
    articles_dir: Path | None = None
    eval_path: Path | None = None


def guess_type(question: str, answer: str) -> str:
    """``"why/explanation"``, ``"date"``, ``"numeric"`` or ``"factoid"`` from the question and answer.

    The question's wording decides first ("why …", "when …", "how many …"), then the answer's shape
    ("May 3, 2001", "1990s", "17,786,419", "ten million").

    Example:
        >>> guess_type("When did the war end?", "1918"), guess_type("How many sacks?", "136")
        ('date', 'numeric')
    """
    a = answer.strip().strip(".,;:\"'“”")
    if _WHY_QUESTION.search(question):
        return "why/explanation"
    if _DATE_QUESTION.search(question):
        return "date"
    if _NUMERIC_QUESTION.search(question):
        return "numeric"
    if _DATE_ANSWER.match(a):
        return "date"
    if _NUMERIC_ANSWER.match(a):
        return "numeric"
    return "factoid"


def doc_id_for(title: str, taken: set[str]) -> str:
    """A file name for a SQuAD title: ASCII letters, digits, ``._-``; ``-2``, ``-3``… when taken."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", title).strip("._-")[:_MAX_STEM_CHARS] or "article"
    name, i = f"{stem}.txt", 2
    while name.lower() in taken:
        name, i = f"{stem}-{i}.txt", i + 1
    taken.add(name.lower())
    return name


def import_squad(path: str | Path, out_dir: str | Path, *, limit: int | None = None,
                 force: bool = False) -> ImportReport:
    """Write a SQuAD v1.1/v2.0 file as articles and an eval set (see the module docstring).

    Args:
        path: the SQuAD JSON file (``{"data": [{"title", "paragraphs": [{"context", "qas"}]}]}``).
        out_dir: the folder to write ``articles/`` and ``eval.jsonl`` into.
        limit: import at most this many questions, spread evenly over the file (every ``n/limit``-th),
            and only the articles they come from.
        force: write into an ``articles/`` folder that already holds files (same names are overwritten).

    Returns:
        The ``ImportReport``.

    Raises:
        SquadImportError: the file is not readable SQuAD JSON, has no questions, or ``articles/`` is not
            empty and ``force`` is False.
    """
    data = _read_squad(Path(path))
    out = Path(out_dir)
    articles_dir = out / ARTICLES_DIR
    if articles_dir.is_dir() and any(articles_dir.iterdir()) and not force:
        raise SquadImportError(f"{articles_dir} already holds files; use --force to write into it anyway")

    # Every (article index, paragraph index, question) in file order, then the evenly spaced selection.
    flat = [(ai, pi, qa) for ai, art in enumerate(data) for pi, par in enumerate(art["paragraphs"])
            for qa in par.get("qas", [])]
    if not flat:
        raise SquadImportError(f"{path}: no questions in the file")
    if limit is not None and limit < len(flat):
        flat = [flat[i * len(flat) // limit] for i in range(limit)]
    used = sorted({ai for ai, _, _ in flat})

    report = ImportReport(articles_dir=articles_dir, eval_path=out / EVAL_FILE)
    articles_dir.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    doc_of: dict[int, str] = {}
    # (start of each paragraph in the article file, its normalised text) per article
    layout: dict[int, list[tuple[int, str]]] = {}
    texts: dict[str, str] = {}
    for ai in used:
        art = data[ai]
        title = " ".join(str(art.get("title") or f"Article {ai + 1}").replace("_", " ").split())
        doc_id = doc_of[ai] = doc_id_for(str(art.get("title") or f"article_{ai + 1}"), taken)
        parts, spans, pos = [title], [], len(title) + 2
        for par in art["paragraphs"]:
            context = _normalise(str(par.get("context", "")))
            spans.append((pos, context))
            parts.append(context)
            pos += len(context) + 2
        layout[ai] = spans
        (articles_dir / doc_id).write_text("\n\n".join(parts) + "\n", encoding="utf-8")
        try:
            texts[doc_id] = load_article(articles_dir / doc_id).text  # what the index will store and cite
        except ArticleError as exc:
            report.skipped.append(f"article {doc_id}: {exc.reason}")
    report.articles = len(texts)

    items: list[EvalItem] = []
    seen_ids: set[str] = set()
    for n, (ai, pi, qa) in enumerate(flat, start=1):
        qid = _unique(str(qa.get("id") or f"{Path(doc_of[ai]).stem}-{n}"), seen_ids)
        question = " ".join(str(qa.get("question", "")).split())
        if not question:
            report.skipped.append(f"{qid}: empty question")
            continue
        if doc_of[ai] not in texts:
            report.skipped.append(f"{qid}: its article could not be written")
            continue
        original_context = data[ai]["paragraphs"][pi].get("context", "")
        _, context = layout[ai][pi]
        if qa.get("is_impossible") or not qa.get("answers"):
            items.append(EvalItem(qid, question, (), None, (), "unanswerable"))
            continue
        answers: list[str] = []
        evidence: list[str] = []
        for ans in qa["answers"]:
            text = " ".join(str(ans.get("text", "")).split())
            span = _locate(context, text, _position(original_context, ans.get("answer_start"), context))
            if span is None:
                continue
            if text not in answers:
                answers.append(text)
            quote = _evidence(context, *span)
            if quote not in evidence:
                evidence.append(quote)
        if not answers:
            report.skipped.append(f"{qid}: no answer span found in its context")
            continue
        items.append(EvalItem(qid, question, tuple(answers), doc_of[ai], tuple(evidence),
                              guess_type(question, answers[0])))

    # Keep only lines that the loader and the corpus check accept (e.g. evidence cut by boilerplate removal).
    kept = []
    for item in items:
        if validate_against_corpus([item], texts):
            report.skipped.append(f"{item.id}: its evidence is not in the stored article text")
        else:
            kept.append(item)
    items = kept
    if not items:
        raise SquadImportError(f"{path}: no question could be imported ({len(report.skipped)} skipped)")
    out.mkdir(parents=True, exist_ok=True)
    with (out / EVAL_FILE).open("w", encoding="utf-8") as f:
        for item in items:
            f.write(json.dumps(item.to_dict(), ensure_ascii=False) + "\n")
    report.questions = len(items)
    report.unanswerable = sum(not it.answerable for it in items)
    report.types = Counter(it.type for it in items)
    logger.info("imported %s questions over %s articles from %s", report.questions, report.articles, path)
    return report


def _read_squad(path: Path) -> list[dict[str, Any]]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SquadImportError(f"cannot read {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise SquadImportError(f"{path}: not JSON ({exc.msg}, line {exc.lineno})") from None
    data = raw.get("data") if isinstance(raw, dict) else None
    ok = isinstance(data, list) and all(
        isinstance(a, dict) and isinstance(a.get("paragraphs"), list)
        and all(isinstance(p, dict) and isinstance(p.get("context"), str) for p in a["paragraphs"])
        for a in data
    )
    if not ok:
        raise SquadImportError(
            f'{path}: not SQuAD format (expected {{"data": [{{"title", "paragraphs": [{{"context", "qas"}}]}}]}})'
        )
    return data  # type: ignore[return-value]


def _normalise(context: str) -> str:
    """Line endings to ``\\n``, no trailing spaces, no blank lines: one paragraph, as the cleaner keeps it."""
    lines = [line.rstrip() for line in context.replace("\r\n", "\n").replace("\r", "\n").strip().split("\n")]
    return "\n".join(line for line in lines if line.strip())


def _position(original: str, start: Any, normalised: str) -> int:
    """The answer's start in the normalised context, approximately (only used to pick among repeats)."""
    if not isinstance(start, int) or start < 0:
        return 0
    prefix = _normalise(original[:start] + "x")  # 'x' keeps trailing whitespace of the prefix from vanishing
    return max(0, min(len(normalised), len(prefix) - 1))


def _locate(context: str, text: str, near: int) -> tuple[int, int] | None:
    """The occurrence of ``text`` in ``context`` closest to ``near`` (whitespace-insensitive)."""
    if not text:
        return None
    pattern = re.compile(r"\s+".join(re.escape(w) for w in text.split()))
    spans = [(m.start(), m.end()) for m in pattern.finditer(context)]
    return min(spans, key=lambda s: (abs(s[0] - near), s[0])) if spans else None


def _evidence(context: str, start: int, end: int) -> str:
    """The sentence, or run of sentences, of ``context`` that holds ``context[start:end]``."""
    spans = [(s, e) for s, e in split_sentences(context) if s < end and e > start]
    if not spans:
        return context[start:end]
    return context[spans[0][0] : spans[-1][1]]


def _unique(qid: str, seen: set[str]) -> str:
    out, i = qid, 2
    while out in seen:
        out, i = f"{qid}-{i}", i + 1
    seen.add(out)
    return out


# -- feedback → draft eval lines ------------------------------------------------------------------------


def feedback_drafts(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Draft eval lines for the thumbs-down records, one per distinct question and history, in file order.

    Each draft: a stable ``id`` (``fb-`` + hash of question and history), the ``question``, the
    ``history`` when there is one (type ``follow-up``, else ``factoid`` as a placeholder), empty
    ``answers``/``evidence``, ``doc`` null, ``"needs_review": true``, and ``review``: the verdict's
    comment and time, the answer that was given, whether it refused, the backend, and the cited
    ``doc_id``/``quote`` pairs (``suggested_docs`` lists their documents as a starting point).
    """
    drafts: dict[str, dict[str, Any]] = {}
    for rec in records:
        if rec.get("verdict") != "down":
            continue
        question = " ".join(str(rec.get("question") or "").split())
        if not question:
            continue
        history = _history(rec.get("history"))
        key = json.dumps({"q": question, "h": history}, ensure_ascii=False, sort_keys=True)
        draft_id = "fb-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]
        cited = [{"doc_id": c.get("doc_id"), "quote": c.get("quote")}
                 for c in rec.get("citations") or [] if isinstance(c, Mapping)]
        review = {
            "comment": str(rec.get("comment") or ""),
            "time": rec.get("time"),
            "answer": rec.get("answer"),
            "refused": rec.get("refused"),
            "backend": rec.get("backend"),
            "cited": cited,
            "suggested_docs": sorted({str(c["doc_id"]) for c in cited if c["doc_id"]}),
        }
        if draft_id in drafts:  # the same question voted down again: keep every comment
            prev = drafts[draft_id]["review"]
            if review["comment"] and review["comment"] not in prev["comment"]:
                prev["comment"] = f"{prev['comment']} | {review['comment']}".strip(" |")
            continue
        draft: dict[str, Any] = {"id": draft_id, "question": question, "answers": [], "doc": None, "evidence": [],
                                 "type": "follow-up" if history else "factoid"}
        if history:
            draft["history"] = history
        draft["needs_review"] = True
        draft["review"] = review
        drafts[draft_id] = draft
    return list(drafts.values())


def _history(turns: Any) -> list[dict[str, str]]:
    """The user/assistant turns with text, as the eval format takes them."""
    out = []
    for t in turns or []:
        if isinstance(t, Mapping) and t.get("role") in ("user", "assistant") and str(t.get("content") or "").strip():
            out.append({"role": str(t["role"]), "content": str(t["content"])})
    return out


def write_drafts(drafts: Iterable[Mapping[str, Any]], path: str | Path) -> tuple[int, int]:
    """Append the drafts whose ``id`` is not yet in ``path`` (edits made there are kept).

    Returns:
        ``(added, already_there)``.
    """
    p = Path(path)
    drafts = list(drafts)
    existing: set[str] = set()
    if p.is_file():
        for line in p.read_text(encoding="utf-8").splitlines():
            try:
                existing.add(json.loads(line)["id"])
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
    new = [d for d in drafts if d["id"] not in existing]
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("a", encoding="utf-8") as f:
        for d in new:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    return len(new), sum(d["id"] in existing for d in drafts)
