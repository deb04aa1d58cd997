"""Recapture cues (moiré, black level, glare) on bona fide captures and on simulated replays.

    uv run python bench/recapture.py [--jobs 2] [--frames 6] [--limit N] [--seed 1]

Bona fide sequences come from (a) the fixtures' genuine frames, (b) the two public-domain
portraits (skimage astronaut, matplotlib grace_hopper) animated with `app.qa.frames.synthesise`,
and (c) the development evaluation set `bench/evalset.py` (real photographs of ~30 people from
PyPI packages), animated the same way, when it can be loaded. Each source is run as captured, and
through `attacks.bona_fide` (rescaled, dim to bright, white balance, noise, JPEG 30-95: must
pass) and `attacks.bona_fide_hard` (plus tone curves, a raised black point and veiling glare: a
stress set, reported but not required to pass).

Attacks: the fixtures' own screen and print replays (the simulation the moiré limit was tuned
on), and every print and screen family of `bench/attacks.py` applied to every source. The black
level limit was chosen from the bona fide sets and `photo_print`, the moiré limit lowered from 0.9
to 0.75 from the bona fide sets while looking at `lcd_stripe` and `am_print`: those are marked
"tuned"; `fm_print`, `oled_pentile` and `retina_far` are held out.

Per set the script prints the sequence-median cue scores (min / median / max over sequences),
the share refused by the recapture check (BPCER for bona fide sets, APCER for attacks), and the
margins: limit minus the worst bona fide sequence, and the best attack sequence minus the limit
(negative: some attacks of the family pass that cue). Sequences whose face was lost in most
frames never reach the check; they are counted apart ("lost").
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import attacks  # bench/attacks.py, beside this script
import cv2
import matplotlib.cbook
import numpy as np
import skimage.data

from app.face import worker
from app.face.engine import ACTIONS, Action, FrameAnalysis
from app.face.evidence import DEFAULT_PARAMS
from app.face.liveness import build_evidence
from app.face.recapture import check_recapture
from app.qa import fixtures
from app.qa.frames import synthesise

Image = attacks.Image
MAX_SIDE = 360  # sources are scaled down to this before an attack is rendered (render cost)
MIN_REACHED = 3  # frames with one face needed for a sequence to reach the recapture check

# Which families chose a limit ("tuned") and which only measure it ("held out").
TUNED = {
    "fixtures screen": "moiré limit (first choice, 0.9)",
    "fixtures print": "moiré limit (first choice, 0.9)",
    "bona_fide": "both limits",
    "photo_print": "black level limit",
    "lcd_stripe": "moiré limit (0.9 -> 0.75)",
    "am_print": "moiré limit (0.9 -> 0.75)",
}
ROLE = {"bona_fide": "must pass", "bona_fide_hard": "stress", "as captured": "must pass"}


@dataclass(frozen=True)
class Source:
    name: str
    group: str  # fixtures / portraits / evalset
    frames: list[Image]


@dataclass(frozen=True)
class Outcome:
    family: str
    source: str
    group: str
    reached: bool
    moire: float
    glare: float
    black_level: float
    refused: bool
    seconds: float  # CPU of the engine's per-frame analysis, per frame


def _small(frame: Image) -> Image:
    side = max(frame.shape[:2])
    if side <= MAX_SIDE:
        return frame
    scale = MAX_SIDE / side
    size = (round(frame.shape[1] * scale), round(frame.shape[0] * scale))
    return np.ascontiguousarray(cv2.resize(frame, size, interpolation=cv2.INTER_AREA))


def _pick(frames: Sequence[Image], count: int) -> list[Image]:
    index = np.linspace(0, len(frames) - 1, count).round().astype(int)
    return [frames[i] for i in index]


def _astronaut() -> Image:
    return np.ascontiguousarray(skimage.data.astronaut(), dtype=np.uint8)  # type: ignore[no-untyped-call]


def _grace_hopper() -> Image:
    path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert bgr is not None
    return np.ascontiguousarray(bgr[:, :, ::-1], dtype=np.uint8)


def sources(count: int, limit: int | None) -> list[Source]:
    """Genuine frame sequences: fixtures, the two portraits, the evaluation set if available."""
    out = [
        Source(name, "fixtures", _pick(fixtures.frames(name), count))
        for name in sorted(fixtures.select(kind="genuine"))
    ]
    crops = {"astronaut": _astronaut()[0:300, 95:345], "hopper": _grace_hopper()[10:490, 50:450]}
    for person, crop in crops.items():
        portrait_actions: tuple[Action, ...] = ("blink", "turn_left")
        for offset, action in enumerate(portrait_actions):
            frames = synthesise(np.ascontiguousarray(crop), action, frames=max(count, 8),
                                seed=40 + offset)
            out.append(Source(f"{person}/{action}", "portraits", _pick(frames, count)))
    try:
        import evalset  # noqa: PLC0415 - bench/evalset.py, optional

        portraits = evalset.load()
    except Exception as error:  # any failure only skips the optional set
        print(f"evaluation set skipped: {error!r}", file=sys.stderr)
        return out
    for index, portrait in enumerate(portraits[:limit]):
        action = ACTIONS[index % len(ACTIONS)]
        try:
            frames = synthesise(portrait.image, action, frames=max(count, 8), seed=index)
        except Exception as error:  # a portrait the animator cannot use
            print(f"  {portrait.identity}/{portrait.photo}: not animated ({error})",
                  file=sys.stderr)
            continue
        out.append(Source(f"{portrait.identity}/{portrait.photo}/{action}", "evalset",
                          _pick(frames, count)))
    return out


def _analyse(frames: Sequence[Image]) -> tuple[list[FrameAnalysis], float]:
    start = time.process_time()
    analyses = [worker.analyse_image(frame) for frame in frames]
    return analyses, (time.process_time() - start) / max(len(frames), 1)


def run(family: str, source: Source, seed: int) -> Outcome:
    """One sequence through one family, then the engine's analysis and the recapture check."""
    if family in ("as captured", "fixtures screen", "fixtures print"):
        frames = source.frames
    else:
        make = FAMILIES[family]
        rng = np.random.default_rng([seed, _stable(family), _stable(source.name)])
        small = source.frames if family.startswith("bona_fide") else [
            _small(f) for f in source.frames]
        frames = make(small, rng)
    analyses, seconds = _analyse(frames)
    evidence = build_evidence(["blink"], analyses, DEFAULT_PARAMS)
    if len(evidence.index) < MIN_REACHED:
        return Outcome(family, source.name, source.group, False, 0.0, 0.0, 0.0, True, seconds)
    result = check_recapture(evidence)
    scores = result.scores
    return Outcome(family, source.name, source.group, True, scores["moire"], scores["glare"],
                   scores["black_level"], result.failure is not None, seconds)


def _stable(text: str) -> int:
    """A seed from a name that does not change between runs (unlike `hash`)."""
    return zlib.crc32(text.encode())


FAMILIES: dict[str, Callable[[Sequence[Image], np.random.Generator], list[Image]]] = {
    family.name: family.make for family in attacks.FAMILIES
}


def _fixture_attacks(count: int) -> list[tuple[str, Source]]:
    out = []
    for kind, family in (("screen_replay", "fixtures screen"), ("print", "fixtures print")):
        for name in sorted(fixtures.select(kind=kind)):
            out.append((family, Source(name, "fixtures", _pick(fixtures.frames(name), count))))
    return out


def _task(args: tuple[str, Source, int]) -> Outcome:
    family, source, seed = args
    return run(family, source, seed)


def _summary(values: Sequence[float]) -> str:
    if not values:
        return f"{'-':>17}"
    return f"{min(values):5.2f} {float(np.median(values)):5.2f} {max(values):5.2f}"


def report(outcomes: Sequence[Outcome]) -> None:
    params = DEFAULT_PARAMS
    limits = {"moire": params.max_moire, "black_level": params.max_black_level}
    families = list(dict.fromkeys(o.family for o in outcomes))
    print(f"\nlimits: moiré > {limits['moire']:.2f}, black level > {limits['black_level']:.3f}, "
          f"glare > {params.max_glare:.2f} (medians over a sequence's frames)\n")
    head = (f"{'set':<17}{'role':<18}{'n':>4}{'lost':>5}  {'moiré min med max':>17}  "
            f"{'black level min med max':>23}  {'refused':>8}  margins (moiré, black level)")
    print(head)
    print("-" * len(head))
    for family in families:
        rows = [o for o in outcomes if o.family == family]
        reached = [o for o in rows if o.reached]
        bona_fide = family in ("as captured", "bona_fide", "bona_fide_hard")
        role = ROLE.get(family) or ("tuned" if family in TUNED else "held out")
        if family in TUNED and bona_fide:
            role = f"{role}, tuned"
        refused = sum(o.refused for o in reached)
        rate = refused / len(reached) if reached else float("nan")
        moire = [o.moire for o in reached]
        black = [o.black_level for o in reached]
        if bona_fide:
            margins = (limits["moire"] - max(moire, default=0.0),
                       limits["black_level"] - max(black, default=0.0))
            label = "BPCER"
        else:
            margins = (min(moire, default=0.0) - limits["moire"],
                       min(black, default=0.0) - limits["black_level"])
            label = "APCER"
        print(f"{family:<17}{role:<18}{len(rows):>4}{len(rows) - len(reached):>5}  "
              f"{_summary(moire)}  {'':>6}{_summary(black)}  {label} {rate:4.0%}  "
              f"{margins[0]:+.2f}, {margins[1]:+.3f}")
    print("\nmargins: bona fide sets = limit - worst sequence (positive: all pass the cue); "
          "attack sets = best attack - limit (negative: some attacks pass that cue).")
    seconds = [o.seconds for o in outcomes if o.family == "as captured"]
    if seconds:
        print(f"engine analysis, per frame (as captured): {1000 * float(np.median(seconds)):.1f} "
              "ms CPU median")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--frames", type=int, default=6, help="frames per sequence")
    parser.add_argument("--limit", type=int, default=None, help="evaluation-set portraits used")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--families", default=None, help="comma-separated subset of families")
    parser.add_argument("--dump", type=Path, default=None, help="write every outcome as JSON")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    base = sources(args.frames, args.limit)
    groups = {group: sum(s.group == group for s in base) for group in ("fixtures", "portraits",
                                                                         "evalset")}
    print("sources: " + ", ".join(f"{n} {group}" for group, n in groups.items()))
    wanted = None if args.families is None else set(args.families.split(","))
    tasks: list[tuple[str, Source, int]] = []
    for family, source in _fixture_attacks(args.frames):
        tasks.append((family, source, args.seed))
    for family in ("as captured", *FAMILIES):
        tasks.extend((family, source, args.seed) for source in base)
    tasks = [t for t in tasks if wanted is None or t[0] in wanted]
    with ProcessPoolExecutor(max_workers=args.jobs, initializer=worker.load_models) as pool:
        outcomes = list(pool.map(_task, tasks, chunksize=2))
    report(outcomes)
    if args.dump is not None:
        args.dump.write_text(json.dumps([asdict(o) for o in outcomes], indent=0) + "\n")
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
