"""Generators by name: one registry, the built-in generators registered in it like any other.

The built-ins go through the same ``register_generator`` call anyone else would use (as simonw/llm registers
its own models through its plugin hook)::

    extractive   qa.extractive.ExtractiveGenerator  the offline default: verbatim sentences of the hits
    openai       qa.llm.OpenAIGenerator             any OpenAI-compatible chat endpoint

``settings.generator.backend`` names the one to use (``auto``: openai when an endpoint or key is set, else
extractive). Every generator implements ``qa.generate.Generator``. Example of adding one::

    from qa.generate import Generator
    from qa.generators import register_generator

    class Echo(Generator):
        name = "echo"
        def generate(self, request):
            yield f"{request.hits[0].text} [1]"

    register_generator("echo", lambda settings: Echo())
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from qa.errors import ConfigError
from qa.extractive import ExtractiveGenerator
from qa.generate import Generator
from qa.llm import OpenAIGenerator

if TYPE_CHECKING:
    from qa.config import Settings


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
    return ExtractiveGenerator(settings.answer)


def _openai(settings: Settings) -> Generator:
    return OpenAIGenerator(settings.generator)  # imports the openai package only now


register_generator("extractive", _extractive)
register_generator("openai", _openai)
