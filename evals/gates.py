"""Quality gates on an eval run's summary: ``--fail-under`` / ``--fail-over`` of ``citeqa eval``.

A ``Bound`` names a number of ``summary.json`` by its dotted path (``retrieval.doc_recall``,
``by_type.factoid.answer.contains``) and the value it must stay at or above (at or below with
``upper=True``). ``check_bounds`` returns one line per failed gate; a metric the run did not measure fails.

Example:
    >>> check_bounds({"retrieval": {"doc_recall": 0.9}}, [parse_bound("retrieval.doc_recall=0.95")])
    ['retrieval.doc_recall = 0.9 < 0.95']
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Bound:
    """A quality gate: ``metric`` (dotted path into the summary) must stay ≥ (or ≤) ``value``."""

    metric: str
    value: float
    upper: bool = False  # True: the metric must not exceed value (--fail-over)

    def __str__(self) -> str:
        return f"{self.metric}{'<=' if self.upper else '>='}{self.value:g}"


def parse_bound(text: str, *, upper: bool = False) -> Bound:
    """``"retrieval.doc_recall=0.95"`` → ``Bound``. Raises ValueError with the expected form."""
    metric, sep, value = text.partition("=")
    metric = metric.strip()
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not sep or not metric or math.isnan(number):
        raise ValueError(f"bad bound {text!r}: expected METRIC=VALUE, e.g. retrieval.doc_recall=0.95")
    return Bound(metric, number, upper)


def metric_paths(summary: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths of the numeric (or null) leaves of a summary, ``by_type`` and ``settings`` included."""
    out = []
    for key, value in summary.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out += metric_paths(value, path + ".")
        elif value is None or (isinstance(value, int | float) and not isinstance(value, bool)):
            out.append(path)
    return out


def lookup(summary: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path (KeyError when a part is missing; a None group gives None).

    Keys may contain dots or slashes (``by_type.why/explanation.answer.contains``): the longest matching key wins.
    """
    node: Any = summary
    rest = path
    while rest:
        if node is None:
            return None
        if not isinstance(node, Mapping):
            raise KeyError(path)
        match = next((key for key in sorted(node, key=len, reverse=True)
                      if rest == key or rest.startswith(key + ".")), None)
        if match is None:
            raise KeyError(path)
        node, rest = node[match], rest[len(match) + 1 :]
    return node


def check_bounds(summary: Mapping[str, Any], bounds: Iterable[Bound]) -> list[str]:
    """The failed gates, one line each (empty when all pass). A metric that is undefined fails its gate.

    Raises:
        KeyError: a bound names a metric the summary does not have.
    """
    failures = []
    for b in bounds:
        value = lookup(summary, b.metric)
        if isinstance(value, Mapping):
            raise KeyError(b.metric)
        if value is None:
            failures.append(f"{b.metric} is not measured in this run (need {b})")
        elif (value > b.value) if b.upper else (value < b.value):
            failures.append(f"{b.metric} = {value:g} {'>' if b.upper else '<'} {b.value:g}")
    return failures


__all__ = ["Bound", "check_bounds", "lookup", "metric_paths", "parse_bound"]
