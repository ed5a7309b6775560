"""Settings of the corpus stage (the ``corpus`` section of ``qa.Settings``). Only qa/config.py reads the environment."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from corpus.load import DEFAULT_MAX_FILE_BYTES


class CorpusSettings(BaseModel):
    """How article files are read: the largest file accepted and whether links out of a folder are followed."""

    model_config = ConfigDict(extra="forbid")

    max_file_bytes: int = Field(
        DEFAULT_MAX_FILE_BYTES,
        ge=1,
        description="Largest article file read, in bytes (checked before reading it; a larger file is skipped with "
        "its size and this limit). Default 20 MB: a whole book as text is 1-5 MB and an article PDF with images "
        "rarely passes 20 MB, while a bigger file is most likely a log or a dump indexed by mistake. The UI's "
        "uploads are also capped at 5 MB each.",
    )
    follow_symlinks: bool = Field(
        False,
        description="Follow symbolic links that lead out of the folder being indexed (`citeqa index "
        "--follow-symlinks`). Off: such links are skipped with a reason. Links within the folder are always "
        "read; links to a folder already indexed and link loops are skipped.",
    )
