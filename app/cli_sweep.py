"""`ecard sweep [--as-of DATE]`: the 300-day rule and the 7-day temporary loss, as of a date."""

from __future__ import annotations

import json
from datetime import datetime

import click

from app.clock import rfc3339
from app.domain.cards.sweep import end_of_day


@click.command()
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="run the rules as of the end of this day (YYYY-MM-DD); default: now")
def sweep(as_of: datetime | None) -> None:
    """Lift temporary loss reports older than 7 days and report lost the cards whose financial
    application is still inactive 300 days after collection. Re-running changes nothing."""
    from app.cli import run_with_services  # noqa: PLC0415 - app.cli registers this command

    moment = end_of_day(as_of.date()) if as_of else None
    report = run_with_services(lambda s: s.cards.sweep(moment))
    click.echo(json.dumps({
        "as_of": rfc3339(report.as_of),
        "lifted_temporary_losses": report.lifted_temporary_losses,
        "overdue_losses": report.overdue_losses,
    }, ensure_ascii=False))
