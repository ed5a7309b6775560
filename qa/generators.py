"""Generators: one interface, picked by name from one registry.

A generator turns the retrieved chunks into answer text whose ``[n]`` markers index the hits; ``qa.cite``
then aligns every claim with its exact quote, whatever the generator wrote. The built-in generators are
registered below through the same ``register_generator`` call anyone else would use (as simonw/llm registers
its own models through its plugin hook)::

    extractive   qa.extractive.ExtractiveGenerator  the offline default: verbatim sentences of the hits
    openai       qa.llm.OpenAIGenerator             any OpenAI-compatible chat endpoint

``settings.generator.backend`` names the one to use (``auto``: openai when an endpoint or key is set, else
extractive). Example of adding one::

    from qa.generators import Generator, register_generator

    class Echo(Generator):
        name = "echo"
        def generate(self, request):
            yield f"{request.hits[0].text} [1]"

    register_generator("echo", lambda settings: Echo())
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qa.errors import ConfigError

if TYPE_CHECKING:
    from embeddings.types import Hit
    from qa.config import Settings
    from qa.evidence import Evidence


@dataclass(frozen=True)
class GenerationRequest:
    """What a generator answers from.

    Attributes:
        question: the question as asked (validated).
        query: the standalone query that was searched (the question itself unless a follow-up was rewritten).
        hits: the retrieved chunks in rank order; ``[n]`` in the answer means ``hits[n - 1]``.
        history: earlier turns, ``{"role": ..., "content": ...}``.
        evidence: sentences and vectors of the index the hits come from.
    """

    question: str
    query: str
    hits: Sequence[Hit]
    history: Sequence[Mapping[str, str]]
    evidence: Evidence


class Generator(ABC):
    """The one interface of every generator: ``generate`` is required, ``rewrite_query`` is optional."""

    name: str = "generator"

    @abstractmethod
    def generate(self, request: GenerationRequest) -> Iterator[str]:
        """Yield the answer's text deltas, with ``[n]`` markers indexing ``request.hits``."""

    def rewrite_query(self, question: str, history: Sequence[Mapping[str, str]]) -> str:
        """A follow-up rewritten as a standalone query, or ``question`` unchanged when this generator has no
        rewrite of its own (the answer path then resolves the follow-up with ``qa.rewrite``)."""
        return question


GeneratorFactory = Callable[["Settings"], Generator]
"""Makes a generator from the resolved settings (raising ``ConfigError`` when they cannot work)."""

GENERATORS: dict[str, GeneratorFactory] = {}
"""Every registered generator factory by name; add to it with ``register_generator``."""


def register_generator(name: str, factory: GeneratorFactory) -> None:
    """Make ``factory`` the generator called ``name`` (``settings.generator.backend = name`` picks it).

    Raises:
        ValueError: ``name`` is ``auto`` (reserved) or already registered.
    """
    if name == "auto":
        raise ValueError("'auto' is reserved: it picks openai or extractive from the settings")
    if name in GENERATORS:
        raise ValueError(f"a generator named {name!r} is already registered")
    GENERATORS[name] = factory


def make_generator(settings: Settings) -> Generator:
    """The generator ``settings.generator`` names (``auto`` resolved), made from ``settings``.

    Raises:
        ConfigError: no generator has that name, or its settings cannot work (e.g. openai without a model).
    """
    name = settings.generator.resolved_backend()
    factory = GENERATORS.get(name)
    if factory is None:
        raise ConfigError(f"unknown generator {name!r}; registered: {', '.join(sorted(GENERATORS))}")
    return factory(settings)


def _extractive(settings: Settings) -> Generator:
    from qa.extractive import ExtractiveGenerator

    return ExtractiveGenerator(settings.answer)


def _openai(settings: Settings) -> Generator:
    from qa.llm import OpenAIGenerator  # lazily: only this backend needs the openai package

    return OpenAIGenerator(settings.generator)


register_generator("extractive", _extractive)
register_generator("openai", _openai)
