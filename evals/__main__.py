"""``python -m evals ...``: the ``citeqa eval`` command group on its own.

Example: python -m evals evals/sets/seed_dev.jsonl --retrieval-only
"""

from __future__ import annotations

import logging
import os
import sys

from evals.cli import eval_group


def main() -> None:
    # As `citeqa` does: no model-hub look-ups or telemetry; only the configured LLM endpoint is contacted.
    for var, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"), ("HF_HUB_DISABLE_TELEMETRY", "1"),
                       ("TOKENIZERS_PARALLELISM", "false")):
        os.environ.setdefault(var, value)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    eval_group(obj={}, prog_name="python -m evals")


if __name__ == "__main__":
    main()
