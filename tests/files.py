"""Small file helpers shared by tests."""

from __future__ import annotations

from pathlib import Path


def write(path: Path, data: str | bytes) -> Path:
    """Write text (UTF-8, as given) or bytes to ``path``, creating its folders; return ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8", newline="")  # exactly these characters: no newline translation
    else:
        path.write_bytes(data)
    return path
