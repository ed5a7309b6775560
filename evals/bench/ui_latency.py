"""Latency of the chat UI as a person sees it: submit → first streamed text, and submit → full answer.

Starts ``citeqa ui`` (extractive default, its own CITEQA_HOME) unless ``--url`` points at a running one,
drives headless Chromium, asks each question in a fresh chat, and prints p50/p90 over all runs. The first
question is a warm-up and is reported on its own (the first query pays one-time costs).
Times are measured in the page (performance.now) from the Ask click to the first rendered answer text and
to the final render (cursor gone, citations linked, sources panel filled in the same update).

    python -m evals.bench.ui_latency                # an index build, a warm-up question, then 12 questions
    python -m evals.bench.ui_latency --url http://127.0.0.1:7860/ --rounds 5 --json test-artifacts/ui/bench_ui.json

Run it from the source checkout: it drives the browser with the helpers of the browser tests
(``tests/ui/browser.py``: the installed ``citeqa ui``, headless Chromium through Playwright), which are not
part of the installed package.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Distinct questions: repeating one would measure citeqa's caches (query and sentence vectors), not a new question.
QUESTIONS = (
    "Where did Macron receive Putin in 2017?",
    "Which French ministers visited Moscow in September 2019?",
    "What did Hollande say about Daesh in Moscow?",
    "How did French people view Russia's influence in a 2013 BBC poll?",
    "What message should Hollande take to Putin about sanctions?",
    "Which Russian media outlets did Macron criticise?",
    "Who wrote the article about Obama and Hollande?",
    "When did France and Russia establish diplomatic ties?",
    "What did Obama say he would do about the coalition?",
    "Who did Parly and Le Drian meet in Moscow?",
    "What is the capital of Australia?",  # refusals
    "How many goals did Messi score in 2012?",
)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running citeqa ui; default: start one")
    parser.add_argument("--home", type=Path, help="CITEQA_HOME for the started server (default: a temp folder)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the questions (repeats hit caches)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    try:
        from tests.ui.browser import Server, ask, launch_chromium, open_app
    except ImportError as exc:
        raise SystemExit(f"run this from the citeqa source checkout (it needs tests/ui/browser.py): {exc}") from None
    from playwright.sync_api import sync_playwright

    server = None
    if args.url:
        url = args.url
    else:
        home = args.home or Path(tempfile.mkdtemp(prefix="citeqa-bench-ui-"))
        print(f"starting citeqa ui (CITEQA_HOME={home}) ...", file=sys.stderr)
        t0 = time.perf_counter()
        server = Server(home)
        server.wait_ready()
        print(f"ready in {time.perf_counter() - t0:.0f} s at {server.url}", file=sys.stderr)
        url = server.url
    runs: list[dict[str, Any]] = []
    try:
        with sync_playwright() as p:
            browser = launch_chromium(p)
            page = browser.new_page(viewport={"width": 1440, "height": 960})
            open_app(page, url)
            warm = ask(page, "What is this collection of articles about?")
            print(f"warm-up (first question): first {warm['first_ms']:.0f} ms, full {warm['full_ms']:.0f} ms")
            for r in range(args.rounds):
                for q in QUESTIONS:
                    page.click("#cq-clear")
                    page.wait_for_function("document.querySelectorAll('#cq-chat .cq-bot').length === 0")
                    t = ask(page, q)
                    runs.append({"round": r, "question": q, **t})
                    print(f"  {t['first_ms']:7.0f} ms first  {t['full_ms']:7.0f} ms full  {q}")
            browser.close()
    finally:
        if server is not None:
            server.stop()
    first = [float(r["first_ms"]) for r in runs]
    full = [float(r["full_ms"]) for r in runs]
    summary: dict[str, Any] = {
        "n": len(runs),
        "first_token_ms": {"p50": statistics.median(first), "p90": _pct(first, 0.9)},
        "full_answer_ms": {"p50": statistics.median(full), "p90": _pct(full, 0.9)},
        "warm_up": warm,
        "generator": "extractive (default)",
    }
    print(
        f"\nsubmit → first token: p50 {summary['first_token_ms']['p50']:.0f} ms, "
        f"p90 {summary['first_token_ms']['p90']:.0f} ms\n"
        f"submit → full answer: p50 {summary['full_answer_ms']['p50']:.0f} ms, "
        f"p90 {summary['full_answer_ms']['p90']:.0f} ms   (n={len(runs)})"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"summary": summary, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
