"""A scripted generator for the qa tests, registered under a test-only name by the ``scripted`` fixture.

``ScriptedGenerator`` is a test double in the manner of simonw/llm's ``MockModel.enqueue()`` (its
tests/conftest.py): a test queues the exact deltas the "model" will stream, so the LLM branch of
``QA.stream`` (markers parsed, claims checked, refusal phrase, follow-up rewrite, generator errors) runs in the
fast suite with no server. It goes through the same registry as the real generators
(``qa.generators.register_generator``) and is never a product default.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping, Sequence

from qa.generate import GenerationRequest, Generator

SCRIPTED = "scripted"  # the test-only registry name


class ScriptedGenerator(Generator):
    """Streams queued replies, one per answer, and queued rewrites, one per follow-up.

    Attributes:
        requests: every request it was asked to answer, in order.
        rewrites_asked: every (question, history) it was asked to rewrite.
    """

    name = SCRIPTED

    def __init__(self) -> None:
        self._replies: deque[list[str | BaseException]] = deque()
        self._rewrites: deque[str] = deque()
        self.requests: list[GenerationRequest] = []
        self.rewrites_asked: list[tuple[str, list[Mapping[str, str]]]] = []
        self.report: dict[str, object] = {}  # copied into each request's report, as a generator fills it

    def enqueue(self, *deltas: str | BaseException) -> None:
        """Queue one reply: these deltas, streamed in order; an exception among them is raised when reached."""
        self._replies.append(list(deltas))

    def enqueue_rewrite(self, query: str) -> None:
        """Queue what the next follow-up is rewritten as (without one, the question comes back unchanged)."""
        self._rewrites.append(query)

    def generate(self, request: GenerationRequest) -> Iterator[str]:
        """Stream the next queued reply."""
        self.requests.append(request)
        request.report.update(self.report)
        if not self._replies:
            raise AssertionError("the scripted generator was asked to answer but has no reply queued")
        for delta in self._replies.popleft():
            if isinstance(delta, BaseException):
                raise delta
            yield delta

    def rewrite_query(self, question: str, history: Sequence[Mapping[str, str]]) -> str:
        """The next queued rewrite, or ``question`` unchanged."""
        self.rewrites_asked.append((question, list(history)))
        return self._rewrites.popleft() if self._rewrites else question
