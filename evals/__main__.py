"""``python -m evals ...``: the ``citeqa eval`` command group on its own.

Example: python -m evals evals/sets/seed_dev.jsonl --retrieval-only
"""

from __future__ import annotations

import logging
import sys

from evals.cli import eval_group
from evals.cli_base import offline_env


def main() -> None:
    offline_env()  # as `citeqa` does: only the configured LLM endpoint is contacted
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    eval_group(obj={}, prog_name="python -m evals")


if __name__ == "__main__":
    main()
