"""Sweep the extractive generator's refusal threshold over an eval set: refusal recall vs false refusals.

Usage: python -m evals.calibrate [evals/sets/seed_dev.jsonl]
Prints each question's confidence (cosine of query and best sentence) and a table of thresholds;
the default of answer.refusal_threshold in qa/config.py is chosen from it. Every `citeqa eval` report now has the
same table from the run's own answers ("Refusal curve", refusal_curve.png), with what other refusal reasons add.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from evals.metrics import contains
from evals.sets import load_eval_set
from qa import QA, get_settings
from qa.extractive import ExtractiveGenerator


def main(path: str = "evals/sets/seed_dev.jsonl") -> None:
    """Print each question's confidence and the refusal table for the eval set at ``path``."""
    qa = QA.ensure(get_settings(), progress=True)
    picker = ExtractiveGenerator(qa.settings.answer)
    rows = []
    for item in load_eval_set(Path(path)):
        history = item.history_messages()
        query = qa.standalone_query(item.question, history)
        hits = qa.index.search(query, qa.settings.retrieval)
        scored = picker.score(item.question, hits, qa.evidence, query=query, history=history)
        best = scored[0].similarity if scored else float("-inf")
        top = scored[0].sentence.text if scored else ""
        ok = bool(item.answers) and contains(top, list(item.answers)) > 0
        rows.append((item.id, item.type, bool(item.answers), best, ok, item.question))
    for r in sorted(rows, key=lambda r: r[3]):
        print(f"{r[3]:.3f}  {'ANS' if r[2] else 'UNA'}  {'hit ' if r[4] else '    '} {r[1]:<16} {r[0]} {r[5][:70]}")
    ans = np.array([r[3] for r in rows if r[2]])
    una = np.array([r[3] for r in rows if not r[2]])
    print(f"\n{len(ans)} answerable, {len(una)} unanswerable")
    print("threshold  refusal_recall  false_refusal_rate")
    for t in np.arange(0.36, 0.67, 0.02):
        print(f"{t:9.2f}  {np.mean(una < t):14.2f}  {np.mean(ans < t):18.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("eval_set", nargs="?", default="evals/sets/seed_dev.jsonl", help="eval set (.jsonl)")
    main(parser.parse_args().eval_set)
