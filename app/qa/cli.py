"""`ecard qa …`: tools for QA engineers. The main `ecard` command mounts the `qa` group."""

from __future__ import annotations

import re
from pathlib import Path

import click

from app.qa.frames import ACTIONS, DEFAULT_FRAMES, MAX_FRAMES, MIN_FRAMES, Action, UnreadableImageError
from app.qa.landmarks import FaceCountError

_NUMBERED = re.compile(r"^\d{3}\.jpg$")


@click.group()
def qa() -> None:
    """Tools for QA: synthesised liveness frame sequences."""


@qa.command()
@click.option(
    "--photo", required=True,
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
    help="A frontal still portrait (JPEG or PNG) showing exactly one face.",
)
@click.option("--action", required=True, type=click.Choice(ACTIONS), help="The action to perform.")
@click.option(
    "--out", required=True, type=click.Path(file_okay=False, path_type=Path),
    help="Directory for 000.jpg, 001.jpg, …; numbered frames already there are replaced.",
)
@click.option(
    "--frames", "count", default=DEFAULT_FRAMES, show_default=True,
    type=click.IntRange(MIN_FRAMES, MAX_FRAMES), help="Number of frames.",
)
@click.option("--seed", default=0, show_default=True, help="Seed for motion and sensor noise.")
@click.option(
    "--quality", default=85, show_default=True, type=click.IntRange(50, 100), help="JPEG quality."
)
def frames(*, photo: Path, action: Action, out: Path, count: int, seed: int, quality: int) -> None:
    """Synthesise a camera sequence of ACTION from one still PHOTO.

    turn_left is the person turning to their own left: in the unmirrored frames their nose moves
    towards the image's right. Each sequence starts and ends with a neutral face.
    """
    from app.qa.frames import synthesise, write_jpegs  # noqa: PLC0415 - loads dlib models

    try:
        sequence = synthesise(photo, action, frames=count, seed=seed)
    except FaceCountError as error:
        raise click.ClickException(f"{photo}: {error}") from None
    except UnreadableImageError as error:
        raise click.ClickException(str(error)) from None
    if out.exists():
        for stale in out.iterdir():
            if _NUMBERED.match(stale.name):
                stale.unlink()
    written = write_jpegs(sequence, out, quality=quality)
    for path in written:
        click.echo(str(path))
    height, width = sequence[0].shape[:2]
    click.echo(
        f"wrote {len(written)} frames ({width}x{height}) of {action} from {photo} to {out}",
        err=True,
    )
