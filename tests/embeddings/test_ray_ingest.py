"""``citeqa index --ray``'s fast side: nothing imports Ray without it, and a bad address is one clear line.

The Ray builds themselves run on a real two-node cluster in tests/reliability/test_rel_ray.py (slow, heavy).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from embeddings.ray_ingest import check_address
from ui.cli import cli

REPO = Path(__file__).resolve().parents[2]


def test_a_build_without_ray_imports_no_ray(tmp_path: Path) -> None:
    """The product's modules (CLI included) and a whole local build leave Ray unimported."""
    code = (
        "import sys, ui.cli, ui.app, qa, qa.library, embeddings, embeddings.ray_ingest, evals.bench.cli\n"
        "from qa import library\n"
        f"library.build({{'index': {{'dir': {str(tmp_path / 'index')!r}}}, 'embedding': {{'model': 'hash'}}}},"
        f" [{str(REPO / 'corpus' / 'articles')!r}], progress=False)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'ray'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("address", ["local", "auto", "127.0.0.1:6379", "head.example:6379", "ray://10.0.0.5:10001",
                                     "[::1]:6379"])
def test_ray_addresses_are_accepted(address: str) -> None:
    check_address(address)


@pytest.mark.parametrize("address", ["articles", "/tmp/articles", "host:port", "ray://", ""])
def test_a_path_after_ray_is_not_taken_for_an_address(address: str) -> None:
    with pytest.raises(ValueError, match="not a Ray address"):
        check_address(address)


def test_cli_refuses_a_path_given_as_the_ray_address(tmp_path: Path) -> None:
    """`citeqa index --ray ~/articles` would take the folder for the address: one usage line, nothing built."""
    result = CliRunner().invoke(cli, ["--index-dir", str(tmp_path / "index"), "index", "--ray", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a Ray address" in result.output and "put PATHS before --ray" in result.output
    assert not (tmp_path / "index").exists()
