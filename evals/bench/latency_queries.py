"""The questions of the latency section: every pass asks questions that no earlier pass (nor any warm-up) asked.

"Warm" in the bench means *loaded*: the index, the embedding model, spaCy and ``QA`` are in memory and a few
other questions (the warm-up) have been answered. It does not mean *cached*: per-text caches (the question's
parse and analysis, its embedding, its rewrite) are keyed by the question's text, so a question asked a second
time skips most of the work (about 7 ms instead of 25–30 ms on the seed index, measured on 2 busy cores). The
passes therefore draw disjoint sets of eval items, dealt round-robin over the pool so that each pass gets a
similar spread of the set (its answerable and unanswerable, factoid and follow-up questions). What still warms
up across passes is what any running server warms up: caches over the *index's* sentences (their vectors and
parses), which the next question about the same articles reads again.

``repeated``: the same pass's questions asked again right after it, on the same ``QA``: the figure of a
question answered before (kept apart, never mixed into the warm figures).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from evals.sets import SETS_DIR, EvalItem, load_eval_set

Query = tuple[str, list[dict[str, str]]]
# The eval sets on the seed articles, in this order (a quick run's passes come from the first alone).
POOL_SETS = ("seed_dev.jsonl", "seed_dev2.jsonl")
_STOP = frozenset("a an the of in on at to for by with what which who whom when where why how did does do is "
                  "was were are be been has have had and or that this these those it its".split())


@dataclass(frozen=True)
class LatencyPass:
    """One pass of the latency section: ``warmup`` questions answered first (not timed), then ``queries`` timed."""

    warmup: list[Query]
    queries: list[Query]


def latency_pool() -> list[EvalItem]:
    """The items of ``POOL_SETS`` with distinct questions (case and spacing ignored), in file order."""
    items = [it for name in POOL_SETS for it in load_eval_set(SETS_DIR / name)]
    return _distinct(items)


def _key(question: str) -> str:
    return " ".join(question.casefold().split())


def _distinct(items: Sequence[EvalItem]) -> list[EvalItem]:
    seen: set[str] = set()
    out = []
    for it in items:
        if _key(it.question) not in seen:
            seen.add(_key(it.question))
            out.append(it)
    return out


def latency_passes(items: Sequence[EvalItem], *, per_pass: int, passes: int, warmup: int,
                   variants: int = 1) -> list[LatencyPass]:
    """``passes`` passes of ``per_pass`` items each (each item in ``variants`` forms, see ``query_variants``),
    each preceded by ``warmup`` items of its own; no item is used twice (item ``j`` goes to pass ``j % passes``).

    Args:
        items: the pool (e.g. ``latency_pool()``); items repeating a question are dropped.
        per_pass: timed items per pass (0: as many as the pool allows, equal for every pass).
        passes: number of passes (>= 1).
        warmup: untimed items answered before each pass's timed ones (>= 0).
        variants: forms of each timed item (1: as asked).

    Raises:
        ValueError: the pool has fewer than ``passes * (warmup + per_pass)`` distinct questions.
    """
    pool = _distinct(items)
    if passes < 1 or per_pass < 0 or warmup < 0:
        raise ValueError(f"bad latency plan: {passes} passes of {per_pass} items after {warmup} warm-up items")
    if not per_pass:
        per_pass = len(pool) // passes - warmup
    need = passes * (warmup + per_pass)
    if per_pass < 1 or need > len(pool):
        raise ValueError(f"the latency section needs {passes} x ({warmup} warm-up + {per_pass} timed) = {need} "
                         f"distinct questions; the pool has {len(pool)}")
    dealt = [pool[p:need:passes] for p in range(passes)]
    return [LatencyPass(warmup=query_variants(d[:warmup], 1), queries=query_variants(d[warmup:], variants))
            for d in dealt]


def query_variants(items: Sequence[EvalItem], per_item: int) -> list[tuple[str, list[dict[str, str]]]]:
    """``(question, history)`` pairs: each question as asked, then up to ``per_item - 1`` rewordings
    (lower-cased; keywords only; with a polite prefix), each keeping the item's history."""
    out: list[tuple[str, list[dict[str, str]]]] = []
    for item in items:
        q = item.question
        keywords = " ".join(w for w in re.findall(r"[\w’'-]+", q) if w.lower() not in _STOP) or q
        forms = [q, q.lower(), keywords, f"Could you tell me: {q[0].lower()}{q[1:]}"]
        hist = item.history_messages()
        out.extend((f, hist) for f in forms[: max(per_item, 1)])
    return out


def repeated_questions(passes: Sequence[LatencyPass]) -> list[str]:
    """Questions (case and spacing ignored) timed in more than one pass or also used as a warm-up: [] when the
    passes are honest. Forms of one item within one pass are not repeats of each other."""
    owner: dict[str, int] = {}
    repeated: dict[str, None] = {}
    for p, lp in enumerate(passes):
        for q, _ in lp.warmup:
            if owner.setdefault(_key(q), -1 - p) != -1 - p:
                repeated.setdefault(q)
        for q, _ in lp.queries:
            if owner.setdefault(_key(q), p) != p:
                repeated.setdefault(q)
    return list(repeated)
