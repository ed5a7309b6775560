"""Fixtures of the qa tests: the real llama.cpp server (see tests/llm_server.py) for ``-m llm`` runs."""

from __future__ import annotations

from llm_server import llm_server, llm_server_factory

__all__ = ["llm_server", "llm_server_factory"]  # registered as fixtures by being named here
