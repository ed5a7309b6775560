"""Errors of the eval layer: input files the eval tools cannot use.

    CiteqaError (corpus/errors.py)    the root of every citeqa error
     └── EvalError                    (evals: catch it to catch the errors below)
          ├── EvalSetError            (an eval set file that cannot be read or has malformed lines)
          └── SquadImportError        (a file that is not SQuAD JSON, or an output folder that cannot be written)

Both leaves are also ``ValueError`` (bad input), as they were before the tree. ``citeqa eval`` turns any
``CiteqaError`` into one line and a non-zero exit.
"""

from __future__ import annotations

from pathlib import Path

from corpus.errors import CiteqaError

_MAX_LISTED_PROBLEMS = 50


class EvalError(CiteqaError):
    """Base class of the errors the eval tools raise on purpose."""


class EvalSetError(EvalError, ValueError):
    """An eval set file that cannot be read or has malformed lines.

    Attributes:
        path: the file.
        problems: ``(line_number, problem)`` pairs; line numbers are 1-based, 0 for the whole file.
    """

    def __init__(self, path: str | Path, problems: list[tuple[int, str]]) -> None:
        self.path = str(path)
        self.problems = problems
        shown = [f"{self.path}:{line}: {problem}" if line else f"{self.path}: {problem}"
                 for line, problem in problems[:_MAX_LISTED_PROBLEMS]]
        if len(problems) > _MAX_LISTED_PROBLEMS:
            shown.append(f"... and {len(problems) - _MAX_LISTED_PROBLEMS} more problems")
        super().__init__("invalid eval set:\n" + "\n".join(shown))


class SquadImportError(EvalError, ValueError):
    """An input file that is not SQuAD-format JSON, or an output folder that cannot be written."""


__all__ = ["EvalError", "EvalSetError", "SquadImportError"]
