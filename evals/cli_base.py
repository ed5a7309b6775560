"""The scaffold both command lines stand on: ``citeqa`` (``ui.cli``) and ``citeqa eval`` (``evals.cli``).

- ``offline_env()``: the process environment every citeqa entry point sets first (no hub look-ups, no
  telemetry or analytics): the only place these variables are named.
- ``CiteqaGroup``: a click group whose commands end with one clear line, never a traceback.
- ``DefaultCommandGroup``: the same, plus a default subcommand (``citeqa eval SET.jsonl`` → ``... run SET.jsonl``).
- ``command_settings(ctx, ...)``: resolved ``Settings`` from a command's options, its parents' options and the
  environment.

It lives in evals/ because evals/ is the lowest package with a command line and may not import ui/ (imports go
corpus → embeddings → qa → evals → ui); ui/ imports it from here. qa/ is the library: no click in it.

Example::

    @click.group(cls=CiteqaGroup)
    @click.pass_context
    def cli(ctx: click.Context) -> None:
        offline_env()
        ctx.ensure_object(dict)
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import click

from corpus.errors import CiteqaError

# citeqa talks to no network service except the configured LLM endpoint: no hub look-ups, no analytics.
OFFLINE_ENV: dict[str, str] = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",  # our own bars show progress; not the weight loading
}


def offline_env() -> None:
    """Set ``OFFLINE_ENV`` in this process, before any model or Gradio import.

    A variable the user set is kept, except Gradio's analytics: they stay off whatever the environment says.
    """
    for var, value in OFFLINE_ENV.items():
        os.environ.setdefault(var, value)
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"


class CiteqaGroup(click.Group):
    """A click group whose commands report errors as one line, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CiteqaError as exc:  # every package's errors (evals' EvalSetError and SquadImportError among them)
            raise click.ClickException(str(exc)) from None
        except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
            raise click.ClickException(f"{exc.strerror}: {exc.filename}" if exc.filename else str(exc)) from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort, SystemExit):
            raise
        except Exception as exc:  # a bug: still one line, with how to get details
            if logging.getLogger().isEnabledFor(logging.DEBUG):
                raise
            raise click.ClickException(
                f"unexpected error: {type(exc).__name__}: {exc} (run `citeqa -vv ...` for details)"
            ) from None


class DefaultCommandGroup(CiteqaGroup):
    """A ``CiteqaGroup`` that runs ``default_command`` when the first argument is not one of its subcommands.

    ``citeqa eval SET.jsonl -k 5`` becomes ``citeqa eval run SET.jsonl -k 5``: the group's own options
    (``--index-dir``, ``--config``) are skipped, and the default command is inserted before the first argument
    that is neither one of them nor a subcommand name.
    """

    default_command = "run"
    usage_args = "[OPTIONS] SET.jsonl [ARGS]... | COMMAND [ARGS]..."

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        args = list(args)
        i = 0
        while i < len(args) and args[i] != "--":
            opt = self._own_option(ctx, args[i].split("=", 1)[0])
            if opt is None:
                break
            i += 1 if ("=" in args[i] or opt.is_flag or opt.count) else 2
        if i < len(args) and args[i] not in self.commands and args[i] not in ctx.help_option_names:
            args.insert(i, self.default_command)
        return super().parse_args(ctx, args)

    def _own_option(self, ctx: click.Context, token: str) -> click.Option | None:
        if not token.startswith("-"):
            return None
        for p in self.get_params(ctx):
            if isinstance(p, click.Option) and token in (*p.opts, *p.secondary_opts):
                return p
        return None

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, self.usage_args)


def command_settings(
    ctx: click.Context, *, config: Path | None = None, index_dir: Path | None = None, **sections: dict[str, Any]
) -> Any:
    """Settings from (highest first) this command's options, the group's/parent's options, the environment.

    Args:
        ctx: the command's context; ``ctx.obj`` may hold the parent's ``config`` and ``index_dir``.
        config: this command's ``--config`` (a JSON settings file), if it has one.
        index_dir: this command's ``--index-dir``, if it has one.
        sections: settings sections, e.g. ``retrieval={"top_k": 5, "mode": None}``; None values are left out.
    """
    from qa.config import get_settings

    obj = ctx.obj or {}
    config = config or obj.get("config")
    index_dir = index_dir or obj.get("index_dir")
    base: dict[str, Any] = {}
    if index_dir:
        base["index"] = {"dir": str(index_dir)}
    for name, values in sections.items():
        values = {k: v for k, v in values.items() if v is not None}
        if values:
            base.setdefault(name, {}).update(values)
    return get_settings(config, **base) if config else get_settings(base)
