"""Fixtures of the qa tests: ``scripted``, a ScriptedGenerator (tests/qa/scripted_generator.py) registered under
a test-only name for one test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from scripted_generator import SCRIPTED, ScriptedGenerator

from qa.generators import GENERATORS, register_generator


@pytest.fixture
def scripted() -> Iterator[ScriptedGenerator]:
    """A ScriptedGenerator that ``generator.backend = "scripted"`` picks, for this test only."""
    generator = ScriptedGenerator()
    register_generator(SCRIPTED, lambda settings: generator)
    try:
        yield generator
    finally:
        GENERATORS.pop(SCRIPTED, None)
