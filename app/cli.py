"""The `ecard` console script: run the service and operate it from scripts."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from app.cli_keys import keys
from app.cli_sweep import sweep
from app.clock import rfc3339
from app.composition import open_services
from app.config import ConfigError, Settings, load_settings
from app.domain.channels import FACE_CHALLENGES, KINDS, NewChannel
from app.domain.registry import ImportReport, count_lines
from app.errors import DomainError
from app.qa.cli import qa
from app.qa.run import run as qa_run
from app.services import Services

T = TypeVar("T")


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


def run_with_services(action: Callable[[Services], Awaitable[T]]) -> T:
    """Open the configured storage, run one action, close; domain errors become CLI errors."""

    async def go() -> T:
        async with open_services(_settings()) as services:
            return await action(services)

    try:
        return asyncio.run(go())
    except DomainError as exc:
        raise click.ClickException(f"{exc.code}: {exc.detail}") from exc
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group()
def main() -> None:
    """ecard — the electronic social security card service."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1),
              help="server processes on the port; the face workers are shared among them")
@click.option("--forwarded-allow-ips", default=None,
              help="comma-separated addresses of the load balancers whose X-Forwarded-For is "
                   "trusted for the client address; by default none is")
def serve(host: str, port: int, workers: int, forwarded_allow_ips: str | None) -> None:
    """Run the HTTP API."""
    from app import server  # noqa: PLC0415 - only the server needs uvicorn

    os.environ["ECARD_SERVER_WORKERS"] = str(workers)  # read by every server process's settings

    async def ready(_: Services) -> None:
        return None

    # Open everything once before uvicorn starts, so that missing keys or a bad SMS gateway in prod
    # are a one-line refusal here rather than a traceback from the server's start-up.
    run_with_services(ready)
    server.run(host, port, workers, forwarded_allow_ips)


@main.group()
def channels() -> None:
    """OAuth clients: host apps, mini-programs, relying parties, counters."""


@channels.command("add")
@click.option("--client-id", required=True)
@click.option("--kind", required=True, type=click.Choice(KINDS))
@click.option("--scope", "scopes", multiple=True, required=True, help="repeat for several scopes")
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="exact redirect URI; repeatable")
@click.option("--name", default=None, help="display name shown on the consent prompt")
@click.option("--face-challenge", type=click.Choice(FACE_CHALLENGES), default="actions", show_default=True,
              help="how face sessions prove liveness; light needs a client that flashes the screen")
def channels_add(client_id: str, kind: str, scopes: tuple[str, ...], redirect_uris: tuple[str, ...],
                 name: str | None, face_challenge: str) -> None:
    """Create a channel and print it as JSON (with client_secret for confidential kinds)."""
    spec = NewChannel(client_id=client_id, kind=kind, scopes=scopes,  # type: ignore[arg-type]
                      redirect_uris=redirect_uris, name=name,
                      face_challenge=face_challenge)  # type: ignore[arg-type]
    created = run_with_services(lambda s: s.channels.create(spec))
    channel = created.channel
    out = {
        "client_id": channel.client_id, "name": channel.name, "kind": channel.kind,
        "scopes": list(channel.scopes), "redirect_uris": list(channel.redirect_uris),
        "created_at": rfc3339(channel.created_at), "face_challenge": channel.face_challenge,
    }
    if created.client_secret:
        out["client_secret"] = created.client_secret
    click.echo(json.dumps(out, ensure_ascii=False, indent=2))


@main.group()
def cards() -> None:
    """The registry of physical social security cards."""


@cards.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--quiet", is_flag=True, help="no progress bar")
def cards_import(file: Path, quiet: bool) -> None:
    """Load card records from JSON lines; re-running the same file changes nothing."""
    _import_lines(file, quiet, "cards", lambda s, advance: s.registry.import_file(file, advance))


@main.group()
def records() -> None:
    """Social insurance records: monthly contributions and the medical individual account."""


@records.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--quiet", is_flag=True, help="no progress bar")
def records_import(file: Path, quiet: bool) -> None:
    """Load contributions and medical-account entries from JSON lines; re-running changes nothing."""
    _import_lines(file, quiet, "records", lambda s, advance: s.record_importer.import_file(file, advance))


def _import_lines(file: Path, quiet: bool, what: str,
                  load: Callable[[Services, Callable[[int], None]], Awaitable[ImportReport]]) -> None:
    """Run a JSON-lines import with a progress bar; print each refused line, then the counts as
    JSON; exit 1 when any line was refused."""
    progress = Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        disable=quiet, transient=False, console=None)
    with progress:
        task = progress.add_task(what, total=count_lines(file))
        try:
            report = run_with_services(lambda s: load(s, lambda n: progress.advance(task, n)))
        except UnicodeDecodeError as exc:
            raise click.ClickException(f"{file} is not UTF-8 text: {exc}") from exc
    for problem in sorted([*report.errors, *report.conflicts], key=lambda p: p.line):
        click.echo(f"line {problem.line}: {problem.message}", err=True)
    click.echo(json.dumps({
        "rows": report.rows, "added": report.added, "unchanged": report.unchanged,
        "conflicts": len(report.conflicts), "errors": len(report.errors),
    }))
    if report.errors or report.conflicts:
        sys.exit(1)


main.add_command(keys)
main.add_command(qa)
qa.add_command(qa_run)
main.add_command(sweep)


if __name__ == "__main__":
    main()
