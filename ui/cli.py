"""The ``citeqa`` command line: a thin click group over the public APIs.

Every command turns citeqa's errors into one clear line on stderr and a non-zero exit, never a traceback
(run with ``-v`` to log more).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from corpus.errors import CiteqaError
from evals.cli_base import CiteqaGroup, command_settings, offline_env

logger = logging.getLogger(__name__)


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(min(level, logging.INFO))
    # Libraries that force their own logger to DEBUG (bm25s does on import) stay quiet; records marked as a
    # notice (a long first-use step such as the ONNX export) are shown without -v.
    handler.addFilter(lambda r: r.levelno >= level or bool(getattr(r, "notice", False)))
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", handlers=[handler])
    logging.getLogger("embeddings.onnx_backend").setLevel(min(level, logging.INFO))
    for noisy in ("httpx", "httpcore", "urllib3", "sentence_transformers", "transformers", "filelock", "bm25s"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


@click.group(cls=CiteqaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), help="JSON settings file.")
@click.option(
    "--index-dir", type=click.Path(file_okay=False, path_type=Path), help="Index folder (env CITEQA_INDEX_DIR)."
)
@click.option("-v", "--verbose", count=True, help="Log more (-vv: debug, with tracebacks).")
@click.version_option(package_name="citeqa")
@click.pass_context
def cli(ctx: click.Context, config: Path | None, index_dir: Path | None, verbose: int) -> None:
    """citeqa: ask questions about your articles; every claim cites the exact words of its source.

    \b
    Quick start:
      citeqa index                      # index the bundled articles
      citeqa ask "Where did Macron receive Putin in 2017?"
      citeqa ui                         # the chat UI at http://127.0.0.1:7860
    """
    offline_env()
    _setup_logging(verbose)
    ctx.ensure_object(dict)
    ctx.obj.update(config=config, index_dir=index_dir)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--rebuild", is_flag=True,
    help="Embed every article again (the current index answers until the new one is swapped in).",
)
@click.option(
    "--check", is_flag=True,
    help="Check the index (checksums, structure, a sample re-embedded) and exit: 0 intact, 1 damaged.",
)
@click.option(
    "--faiss",
    "faiss_type",
    type=click.Choice(["auto", "flat", "hnsw", "ivf", "ivfsq8", "ivfpq"]),
    help="FAISS index type (auto: exact below 50,000 chunks, ivfsq8 above).",
)
@click.option(
    "--follow-symlinks", is_flag=True,
    help="Follow symbolic links that lead out of the folders indexed (by default they are skipped with a reason).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option(
    "--ray", "ray_address", is_flag=False, flag_value="local", default=None, metavar="[ADDRESS]",
    help="Read, chunk and embed on Ray (pip install 'citeqa[scale]'): connect to ADDRESS (host:port, "
    "ray://host:port, auto) or, without one, start Ray on this machine. Put PATHS before --ray.",
)
@click.option("--ray-workers", type=click.IntRange(1, 4096), help="Embedding actors on Ray (default: CPUs - 1).")
@click.pass_context
def index(ctx: click.Context, paths: tuple[Path, ...], rebuild: bool, check: bool, faiss_type: str | None,
          follow_symlinks: bool, quiet: bool, ray_address: str | None, ray_workers: int | None) -> None:  # fmt: skip
    """Build or update the index from PATHS (files or folders; default: the bundled articles + uploads).

    Only added or changed articles are embedded again; articles no longer present are dropped. A damaged
    index is repaired (FAISS and BM25 rebuilt from the stored vectors, or the articles re-embedded). A folder
    that is not a citeqa index is refused and left untouched.

    \b
    Examples:
      citeqa index ~/articles/ notes/extra.md
      citeqa index --check
      citeqa index ~/articles/ --ray              # on a Ray instance started here
      citeqa index ~/articles/ --ray 10.0.0.5:6379  # on a running Ray cluster
    """
    from qa import library

    if check:
        if paths or rebuild or faiss_type:
            raise click.UsageError("--check takes no PATHS, --rebuild or --faiss: it only reads the index")
        _check_index(ctx)
        return
    if ray_address is not None:
        from embeddings.ray_ingest import check_address

        try:
            check_address(ray_address)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None

    for p in paths:
        if not p.exists():
            raise click.ClickException(f"{p}: no such file or folder")
    settings = command_settings(ctx, index={"faiss": faiss_type}, corpus={"follow_symlinks": follow_symlinks or None})
    t0 = time.perf_counter()
    report, skipped = library.build(settings, list(paths) or None, progress=not quiet, rebuild=rebuild,
                                    ray=ray_address, ray_workers=ray_workers)
    secs = time.perf_counter() - t0
    for err in skipped:
        click.echo(f"skipped {err}", err=True)
    rate = report.embedded_chunks / report.seconds if report.seconds > 0 else 0.0
    click.echo(
        f"indexed {report.articles} articles, {report.chunks} chunks in {secs:.1f} s "
        f"({report.added} added, {report.updated} updated, {report.removed} removed, {report.unchanged} unchanged; "
        f"{report.embedded_chunks} chunks embedded at {rate:.0f} chunks/s) → {settings.index_dir()}"
    )


def _check_index(ctx: click.Context) -> None:
    from embeddings import check_index, load_embedder

    settings = command_settings(ctx)
    result = check_index(settings.index_dir(), embedder=load_embedder(settings.embedding), chunking=settings.chunking)
    if not result.ok:
        raise click.ClickException("; ".join(result.problems))
    click.echo(f"index {result.index_dir} is intact: {result.articles} articles, {result.chunks} chunks "
               f"(checked {', '.join(result.checks)})")


@cli.command()
@click.argument("query")
@click.option("-k", "--top-k", "k", type=click.IntRange(1, 100), default=5, show_default=True)
@click.option("--mode", type=click.Choice(["hybrid", "dense", "bm25"]), help="Retriever (default: hybrid).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of {doc_id, title, start, end, score, text}.")
@click.pass_context
def search(ctx: click.Context, query: str, k: int, mode: str | None, as_json: bool) -> None:
    """Show the chunks retrieved for QUERY, best first.

    Example: citeqa search "Mistral warships" -k 3
    """
    from qa.pipeline import QA, validate_question

    settings = command_settings(ctx, retrieval={"top_k": k, "mode": mode})
    q = validate_question(query, max_chars=settings.answer.max_question_chars)
    qa = QA.from_settings(settings)
    hits = qa.index.search(q, settings.retrieval, k=k)
    if as_json:
        rows = [{f: getattr(h, f) for f in ("doc_id", "title", "start", "end", "score", "text")} for h in hits]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not hits:
        click.echo("no matching chunks")
    for i, h in enumerate(hits, 1):
        click.secho(f"{i}. {h.title} ({h.doc_id} {h.start}-{h.end}) score={h.score:.4f}", bold=True)
        click.echo("   " + " ".join(h.text.split()) + "\n")


def _marked_text(a: Any) -> str:
    """``a.text`` with ⚠ after every claim nothing supports (``Answer.claims``)."""
    text = a.text
    for claim in sorted(getattr(a, "claims", None) or [], key=lambda c: -c.end):
        if not claim.supported:
            text = text[: claim.end] + " " + click.style("⚠ unsupported", fg="red") + text[claim.end :]
    return text


def _print_answer(a: Any) -> None:
    click.echo(_marked_text(a))
    if getattr(a, "disagreement", None):
        click.secho(f"\n⚠ The model said “{a.disagreement}”, although a retrieved sentence appears to answer: "
                    "it is shown with its source.", fg="yellow")
    if a.refused:
        if a.chunks:
            click.secho("\nClosest passages (they do not answer it):", bold=True)
            for h in a.chunks[:3]:
                snippet = " ".join(h.text.split())
                click.echo(f"  - {h.title} ({h.doc_id}): {snippet[:240]}{'…' if len(snippet) > 240 else ''}")
        return
    if a.citations:
        click.secho("\nSources:", bold=True)
        for c in a.citations:
            flag = "" if c.supported is not False else click.style("  [not supported by this quote]", fg="red")
            click.echo(f"  [{c.n}] {c.title} ({c.doc_id}, chars {c.start}-{c.end}){flag}")
            click.echo(f"      “{' '.join(c.quote.split())}”")
    if a.unsupported:
        click.secho(f"\n{a.unsupported} claim(s) not supported by the retrieved passages (marked ⚠).", fg="yellow")


def _qa_for(ctx: click.Context, backend: str | None, k: int | None, base_url: str | None, model: str | None,
            *, conversation: bool = False) -> Any:
    from qa.pipeline import QA

    settings = command_settings(
        ctx, generator={"backend": backend, "base_url": base_url, "model": model}, retrieval={"top_k": k}
    )
    # a conversation's follow-ups are rewritten on spaCy's parse: load it in the background from the start
    return QA.ensure(settings, progress=True, preload_nlp=True if conversation else None)


_backend_opt = click.option("--backend", type=click.Choice(["auto", "extractive", "openai"]), help="Generator.")
_k_opt = click.option("-k", "--top-k", "k", type=click.IntRange(1, 50), help="Chunks to retrieve (default 5).")
_url_opt = click.option("--base-url", help="OpenAI-compatible endpoint (env OPENAI_BASE_URL).")
_model_opt = click.option("--model", help="LLM model name (env OPENAI_MODEL).")


@cli.command()
@click.argument("question")
@_backend_opt
@_k_opt
@_url_opt
@_model_opt
@click.option("--json", "as_json", is_flag=True, help="Print the Answer as JSON.")
@click.pass_context
def ask(ctx: click.Context, question: str, backend: str | None, k: int | None, base_url: str | None,
        model: str | None, as_json: bool) -> None:  # fmt: skip
    """Answer QUESTION from the indexed articles, with numbered sources.

    Example: citeqa ask "When did the French ministers visit Moscow?" --json
    """
    from qa.pipeline import validate_question

    limit = command_settings(ctx).answer.max_question_chars
    q = validate_question(question, max_chars=limit)  # before loading any model
    qa = _qa_for(ctx, backend, k, base_url, model)
    a = qa.answer(q)
    if as_json:
        click.echo(json.dumps(asdict(a), ensure_ascii=False, indent=2))
    else:
        _print_answer(a)


@cli.command()
@_backend_opt
@_k_opt
@_url_opt
@_model_opt
@click.pass_context
def chat(ctx: click.Context, backend: str | None, k: int | None, base_url: str | None, model: str | None) -> None:
    """A conversation in the terminal: follow-up questions keep the context. Ctrl-D or `exit` leaves.

    Example: citeqa chat --backend extractive
    """
    from qa.pipeline import validate_question
    from qa.types import Answer

    qa = _qa_for(ctx, backend, k, base_url, model, conversation=True)
    history: list[dict[str, str]] = []
    click.echo(f"citeqa chat ({qa.generator.name}); {len(qa.index.articles)} articles. Ctrl-D or 'exit' to leave.")
    while True:
        try:
            line = click.prompt("\nyou", prompt_suffix="> ", default="", show_default=False)
        except (EOFError, click.exceptions.Abort):
            click.echo()
            return
        if line.strip().lower() in ("exit", "quit"):
            return
        try:
            q = validate_question(line, max_chars=qa.settings.answer.max_question_chars)
            final = None
            for item in qa.stream(q, history):
                if isinstance(item, Answer):
                    final = item
            assert final is not None
        except CiteqaError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            continue
        if final.query != q:
            click.secho(f"(searched for: {final.query})", dim=True)
        _print_answer(final)
        history += [{"role": "user", "content": q}, {"role": "assistant", "content": final.text}]


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind; 0.0.0.0 exposes it.")
@click.option("--port", type=click.IntRange(1, 65535), default=7860, show_default=True)
@click.option(
    "--auth",
    help="Require login, as user:password; that one user is the admin (env CITEQA_AUTH). Visible in `ps`: "
    "prefer --auth-file.",
)
@click.option(
    "--auth-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Password file, one user:password[:admin] line per user (setting ui.auth_file).",
)
@click.option("--hash-password", is_flag=True, help="Ask for a password, print its hash for the password file, exit.")
@click.pass_context
def ui(ctx: click.Context, host: str, port: int, auth: str | None, auth_file: Path | None, hash_password: bool) -> None:
    """Start the chat UI (builds the index of the bundled articles first if there is none).

    With logins, only admins (the --auth user, `:admin` lines of the password file, ui.admins) add and
    delete articles; everyone else asks. Without logins the local user is the admin, unless --host
    exposes the app: then nobody is.

    \b
    Examples:
      citeqa ui --port 7861
      citeqa ui --hash-password                   # prints pbkdf2_sha256$... for the password file
      citeqa ui --host 0.0.0.0 --auth-file ~/.config/citeqa/users.txt
    """
    from ui.app import launch_app
    from ui.auth import hash_password as make_hash
    from ui.auth import parse_auth

    if hash_password:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
        click.echo(make_hash(password))
        return
    if auth:
        click.echo(
            "citeqa: warning: --auth on the command line is visible to every local user (ps); "
            "use --auth-file or CITEQA_AUTH",
            err=True,
        )
    auth = auth or os.environ.get("CITEQA_AUTH")
    parse_auth(auth)  # a malformed value ends the command here, before the index is loaded
    launch_app(command_settings(ctx), host=host, port=port, auth=auth, auth_file=auth_file)


def _register_subcommands() -> None:
    from evals.bench.cli import bench
    from evals.cli import eval_group

    cli.add_command(eval_group)
    cli.add_command(bench)


_register_subcommands()


def main() -> None:
    cli(obj={})


if __name__ == "__main__":
    main()
