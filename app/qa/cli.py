"""`ecard qa …`: tools for QA engineers. The main `ecard` command mounts the `qa` group."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click

from app.qa.frames import ACTIONS, DEFAULT_FRAMES, MAX_FRAMES, MIN_FRAMES, Action, UnreadableImageError
from app.qa.landmarks import FaceCountError

_NUMBERED = re.compile(r"^\d{3}\.jpg$")
# Beside light frames: their capture times in ms, a JSON list in frame order (the values to send
# as the `captured_at_ms` parts).
TIMES_FILE = "captured_at_ms.json"


@click.group()
def qa() -> None:
    """Tools for QA: synthesised liveness frame sequences."""


@qa.command()
@click.option(
    "--photo", required=True,
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
    help="A frontal still portrait (JPEG or PNG) showing exactly one face.",
)
@click.option(
    "--action", "actions", required=True, multiple=True, type=click.Choice(ACTIONS),
    help="The action to perform; repeat for a session's challenge, in its order.",
)
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
@click.option(
    "--light", "light_file", default=None,
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
    help="A light challenge (the session answer, or its `light` list, as JSON): the frames reflect "
    f"its colours, and their capture times go to {TIMES_FILE}.",
)
def frames(*, photo: Path, actions: tuple[Action, ...], out: Path, count: int, seed: int, quality: int,
           light_file: Path | None) -> None:
    """Synthesise a camera sequence of each ACTION, in order, from one still PHOTO.

    turn_left is the person turning to their own left: in the unmirrored frames their nose moves
    towards the image's right. Each action starts and ends with a neutral face.
    """
    from app.qa.frames import synthesise, write_jpegs  # noqa: PLC0415 - loads dlib models
    from app.qa.light import covering_fps, load_sequence, respond  # noqa: PLC0415

    try:
        steps = load_sequence(light_file) if light_file else None
        sequence = [frame for index, action in enumerate(actions)
                    for frame in synthesise(photo, action, frames=count, seed=seed + index)]
        times = None
        if steps:
            sequence, times = respond(sequence, steps, fps=covering_fps(steps, len(sequence)), seed=seed)
    except FaceCountError as error:
        raise click.ClickException(f"{photo}: {error}") from None
    except (UnreadableImageError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    if out.exists():
        for stale in out.iterdir():
            if _NUMBERED.match(stale.name) or stale.name == TIMES_FILE:
                stale.unlink()
    written = write_jpegs(sequence, out, quality=quality)
    for path in written:
        click.echo(str(path))
    if times is not None:
        (out / TIMES_FILE).write_text(json.dumps(times) + "\n", encoding="utf-8")
    height, width = sequence[0].shape[:2]
    lit = f", lit by {len(steps)} colours (capture times in {out / TIMES_FILE})" if steps else ""
    click.echo(
        f"wrote {len(written)} frames ({width}x{height}) of {', '.join(actions)} from {photo} to {out}{lit}",
        err=True,
    )
