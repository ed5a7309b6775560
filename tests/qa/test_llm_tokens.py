"""History is trimmed by the server's own token counts (issue 13): ``qa.context_window.ServerTokens``.

Against the real llama-cpp-python server of the tests (SmolLM2-135M, ``tests/llm_server.py``), whose tokenizer
answers at ``/extras/tokenize/count``; a server without a tokenizer endpoint (the event-stream stand-in of
tests/ui/slow_endpoint.py, which answers every POST with its stream, as some proxies do) keeps the estimate.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable

import pytest
from llm_server import LLMServer

from qa.config import GeneratorSettings
from qa.context_window import _TOKEN_CACHE, ServerTokens
from qa.llm import OpenAIGenerator
from qa.prompts import HISTORY_MESSAGE_TOKENS, approx_tokens, build_answer_messages
from tests.ui.slow_endpoint import SlowEndpoint

# ~390 characters of plain English: about 98 tokens by the estimate (over HISTORY_MESSAGE_TOKENS, so it is cut),
# at most 80 by SmolLM2's tokenizer (about 4.9 characters a token on such text), so it is kept whole.
ANSWER = ("France and Russia have been talking about the war in Syria for a long time, and the two presidents met "
          "again in Paris to discuss it. They agreed to share what their services know about the groups that "
          "attacked the city, and to meet again before the end of the year. The talks were described as open and "
          "useful by both sides, although they still disagree about the future of the government in Damascus.")


def _server_count(server: LLMServer, text: str) -> int:
    """The server's tokens for ``text``, asked directly."""
    root = server.base_url.removesuffix("/v1")
    req = urllib.request.Request(f"{root}/extras/tokenize", data=json.dumps({"input": text}).encode(),
                                 headers={"content-type": "application/json", **_auth(server.api_key)})
    with urllib.request.urlopen(req, timeout=30) as r:
        return len(json.loads(r.read())["tokens"])


def _auth(key: str | None) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"} if key else {}


@pytest.mark.llm
def test_the_servers_tokenizer_counts_and_each_text_is_asked_once(
    llm_server_factory: Callable[..., LLMServer]) -> None:
    server = llm_server_factory()
    count = ServerTokens(server.base_url, server.model, api_key="not-needed")
    assert count.available is None  # not asked yet
    expected = _server_count(server, ANSWER)
    assert count(ANSWER) == expected and count.available is True
    assert expected <= HISTORY_MESSAGE_TOKENS < approx_tokens(ANSWER)  # the case the estimate gets wrong
    server.stop()  # the server is gone: a counted text is still known, a new one falls back to the estimate
    assert count(ANSWER) == expected
    assert count("A text never counted.") == approx_tokens("A text never counted.")


@pytest.mark.llm
def test_history_is_trimmed_by_the_servers_count(llm_server: LLMServer) -> None:
    history = [{"role": "user", "content": "What did the presidents discuss?"},
               {"role": "assistant", "content": ANSWER}]
    count = ServerTokens(llm_server.base_url, llm_server.model, api_key="not-needed")
    by_server = build_answer_messages("And when?", [], history, token_budget=1500, history_tokens=count)
    by_estimate = build_answer_messages("And when?", [], history, token_budget=1500)
    assert by_server[2]["content"] == ANSWER  # fits the 80 tokens a history message may take
    assert by_estimate[2]["content"] != ANSWER and by_estimate[2]["content"].endswith("\u2026")  # cut short


@pytest.mark.llm
def test_the_generator_trims_history_by_the_servers_count_with_its_own_key(
    llm_server_factory: Callable[..., LLMServer]) -> None:
    server = llm_server_factory(api_key="sk-tokens-test")
    settings = GeneratorSettings(**server.generator_settings(max_tokens=16, context_window=2048))
    gen = OpenAIGenerator(settings)
    history = [{"role": "user", "content": "What did the presidents discuss?"},
               {"role": "assistant", "content": ANSWER}]
    gen.rewrite_query("And when did they meet?", history)
    tokens = gen._history_tokens(history)
    assert tokens is not None and tokens.available is True  # asked with the chat's key, and it answered
    assert any(key[-1] == ANSWER for key in _TOKEN_CACHE)
    assert all("sk-tokens-test" not in part for key in _TOKEN_CACHE for part in key[:3])  # the key is not kept
    # another key is another endpoint for the counts: the server refuses it, the estimate is used
    wrong = ServerTokens(server.base_url, server.model, api_key="sk-wrong")
    assert wrong("Another text.") == approx_tokens("Another text.") and wrong.available is False


def test_a_server_without_a_tokenizer_keeps_the_estimate() -> None:
    endpoint = SlowEndpoint(["not a count"])  # answers every POST with an event stream
    try:
        count = ServerTokens(endpoint.url, endpoint.model, api_key="not-needed")
        assert count(ANSWER) == approx_tokens(ANSWER) and count.available is False
        asked = endpoint.requests
        assert count("Another text.") == approx_tokens("Another text.") and endpoint.requests == asked  # not again
    finally:
        endpoint.close()
