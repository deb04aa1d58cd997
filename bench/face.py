"""Face engine benchmark: PAD error rates, match distances, and CPU cost against the naive pipeline.

    uv run python bench/face.py [--fixtures fixtures] [--threshold T] [--sessions 60] [--quick]

Prints, from one run:
1. APCER / BPCER (ISO/IEC 30107-3) over the sets of `fixtures/MANIFEST.json`: every set with
   kind `genuine` is a bona fide presentation that should pass; every other set is an attack
   (`expected` names the reason it should fail with). A set without an action is challenged with
   `blink`.
2. The development set (`bench/evalset.py`, ~30 people from PyPI packages, fetched into a cache
   on first use): genuine sessions with random challenges, attacks built from the same people,
   every print and screen simulation of `bench/attacks.py`, the light challenge, and match
   distances with FMR / FNMR (`bench/devset.py`).
3. Genuine and impostor match distances on the fixtures, with FMR / FNMR at the threshold.
4. The CPU time of one 3-action session through the engine (analyse every frame, decide) against
   the naive pipeline on the same frames (face_recognition detect + encode on every frame at full
   resolution), as a ratio.
5. Re-rolling against a real server: how many challenges one person can see in a day.

The engine runs in this process (the numbers are CPU seconds of this process).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import devset  # bench/devset.py, beside this script
import evalset
import health_load
import httpx
import numpy as np

from app.face import liveness, match, worker
from app.face.engine import Action, CardTemplate, FrameAnalysis
from app.qa.run import HOLDERS, Flow

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class FixtureSet:
    name: str
    kind: str
    expected: str
    person: str | None
    card: str | None
    action: Action | None
    frames: list[Path]


def load_manifest(folder: Path) -> tuple[dict[str, Path], list[FixtureSet]]:
    """Card photos by person, and the frame sets, as the fixture manifest describes them."""
    manifest = json.loads((folder / "MANIFEST.json").read_text(encoding="utf-8"))
    cards = {
        person: folder / info["card_photo"]
        for person, info in manifest["people"].items()
        if info.get("card_photo")
    }
    sets = [
        FixtureSet(
            name=name,
            kind=info["kind"],
            expected=info["expected"],
            person=info.get("person"),
            card=info.get("card"),
            action=info.get("action"),
            frames=[folder / frame for frame in info["frames"]],
        )
        for name, info in manifest["sets"].items()
    ]
    return cards, sets


def selfies(folder: Path) -> dict[str, Path]:
    manifest = json.loads((folder / "MANIFEST.json").read_text(encoding="utf-8"))
    return {
        person: folder / info["selfie"]
        for person, info in manifest["people"].items()
        if info.get("selfie")
    }


def analyse_set(fixture: FixtureSet) -> list[FrameAnalysis]:
    return [worker.analyse_frame(path.read_bytes()) for path in fixture.frames]


def pad_rates(
    cards: dict[str, CardTemplate], sets: list[FixtureSet], threshold: float
) -> None:
    """Print each set's verdict, then BPCER and APCER per attack type."""
    bona_fide: list[bool] = []
    attacks: dict[str, list[bool]] = {}
    print("\n== Presentation attack detection (ISO/IEC 30107-3) ==")
    print(f"{'set':48} {'expected':16} {'verdict':16} scores")
    for fixture in sets:
        frames = analyse_set(fixture)
        challenge: list[Action] = [fixture.action or "blink"]
        card = cards.get(fixture.card or "")
        verdict = worker.decide(challenge, frames, card, threshold)
        outcome = "passed" if verdict.passed else str(verdict.reason)
        shown = {k: round(v, 3) for k, v in verdict.scores.items() if k in _SHOWN}
        print(f"{fixture.name:48} {fixture.expected:16} {outcome:16} {shown}")
        if fixture.kind == "genuine":
            bona_fide.append(not verdict.passed)
        else:
            attacks.setdefault(fixture.kind, []).append(verdict.passed)
    bpcer = 100.0 * sum(bona_fide) / max(len(bona_fide), 1)
    print(f"\nBPCER {bpcer:.1f} % ({sum(bona_fide)} of {len(bona_fide)} genuine sets rejected)")
    worst = 0.0
    for kind, accepted in sorted(attacks.items()):
        apcer = 100.0 * sum(accepted) / len(accepted)
        worst = max(worst, apcer)
        print(f"APCER[{kind}] {apcer:.1f} % ({sum(accepted)} of {len(accepted)} accepted)")
    print(f"APCER (worst attack type) {worst:.1f} %")


_SHOWN = {"match_distance", "identity_max_distance", "moire", "glare", "identical_share"}


def match_rates(
    cards: dict[str, CardTemplate],
    selfie_paths: dict[str, Path],
    sets: list[FixtureSet],
    threshold: float,
) -> None:
    """Genuine and impostor distances: card photo vs selfie and vs each genuine set's frames."""
    probes: dict[str, list[np.ndarray]] = {}
    for person, path in selfie_paths.items():
        probes.setdefault(person, []).append(
            match.template_encoding(worker.enroll(path.read_bytes()))
        )
    for fixture in sets:
        if fixture.kind != "genuine" or fixture.person is None:
            continue
        frames = analyse_set(fixture)
        report = liveness.assess([fixture.action or "blink"], frames)
        selection = liveness.select_frames(frames, report.matched, report.neutral_yaw)
        for index in selection.match:
            probes.setdefault(fixture.person, []).append(worker.encode_chip(frames[index].chip))
    genuine: list[float] = []
    impostor: list[float] = []
    for card_person, card in cards.items():
        reference = match.template_encoding(card)
        for probe_person, encodings in probes.items():
            target = genuine if probe_person == card_person else impostor
            target.extend(match.distance(reference, e) for e in encodings)
    print("\n== Face match (card photo vs live face) ==")
    for label, values in (("genuine", genuine), ("impostor", impostor)):
        if values:
            array = np.array(values)
            print(
                f"{label:9} n={len(values):3} min {array.min():.3f} median "
                f"{np.median(array):.3f} max {array.max():.3f}"
            )
    fnmr = 100.0 * sum(d > threshold for d in genuine) / max(len(genuine), 1)
    fmr = 100.0 * sum(d <= threshold for d in impostor) / max(len(impostor), 1)
    print(f"at threshold {threshold}: FNMR {fnmr:.1f} %  FMR {fmr:.1f} %")


def session_cost(sets: list[FixtureSet], cards: dict[str, CardTemplate], threshold: float) -> None:
    """CPU seconds of one 3-action session: this engine vs detect+encode on every frame."""
    import face_recognition  # noqa: PLC0415 - only the naive baseline needs it

    person = next(s.person for s in sets if s.kind == "genuine")
    chosen: list[Action] = ["turn_left", "blink", "open_mouth"]
    by_action = {s.action: s for s in sets if s.kind == "genuine" and s.person == person}
    frames = [p.read_bytes() for action in chosen for p in by_action[action].frames]
    card = cards[person or ""]

    start = time.process_time()
    analyses = [worker.analyse_frame(frame) for frame in frames]
    verdict = worker.decide(chosen, analyses, card, threshold)
    engine_cpu = time.process_time() - start

    from app.face.images import decode_image  # noqa: PLC0415

    start = time.process_time()
    for frame in frames:
        image = decode_image(frame)
        locations = face_recognition.face_locations(image)
        face_recognition.face_encodings(image, locations)
    naive_cpu = time.process_time() - start
    print("\n== CPU cost of one 3-action session ==")
    print(f"frames {len(frames)} ({', '.join(chosen)}), verdict passed={verdict.passed}")
    print(f"engine {engine_cpu:.2f} s   naive {naive_cpu:.2f} s   ratio {engine_cpu / naive_cpu:.3f}")


def reroll() -> None:
    """Start sessions again and again on one real-name check, as an attacker shopping for a challenge."""
    print("\n== Re-rolling the challenge (real server) ==")
    with health_load.running_server(workers=1) as url, httpx.Client(base_url=url, timeout=60) as http:
        flow = Flow(http, "dev-admin-token")
        token = flow.channel_token()
        realname_id = flow.realname(token, *HOLDERS["astronaut"]).json()["realname_id"]
        headers = {"Authorization": f"Bearer {token}"}
        body = {"realname_id": realname_id, "biometric_consent": True}
        seen: set[tuple[str, ...]] = set()
        new_while_open = 0
        for attempt in range(50):
            started = http.post("/v1/face/sessions", json=body, headers=headers)
            if started.status_code == 429:
                print(f"start {attempt + 1}: 429 {started.json()['code']}")
                break
            challenge = started.json()
            again = http.post("/v1/face/sessions", json=body, headers=headers).json()
            if again["session_id"] != challenge["session_id"] or again["actions"] != challenge["actions"]:
                new_while_open += 1
            seen.add(tuple(challenge["actions"]))
            # Give up on the challenge (complete without frames: a failure), then ask again.
            http.post(f"/v1/face/sessions/{challenge['session_id']}/complete", headers=headers)
        print(f"APCER[re-roll]: a second start while a session is open gave a new challenge "
              f"{new_while_open} times")
        print(f"distinct challenges one person could see in a day: {len(seen)}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, default=ROOT / "fixtures")
    parser.add_argument("--threshold", type=float, default=match.DEFAULT_MATCH_THRESHOLD)
    parser.add_argument("--skip-health", action="store_true", help="leave out the /health p99 under load")
    parser.add_argument("--sessions", type=int, default=60, help="genuine sessions on the development set")
    parser.add_argument("--attacks", type=int, default=12, help="attack sessions per kind on the development set")
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--only", choices=("light",), help="run one part of the benchmark only")
    args = parser.parse_args(argv)
    if not (args.fixtures / "MANIFEST.json").exists():
        raise SystemExit(
            f"{args.fixtures}/MANIFEST.json not found: run `uv run python fixtures/make_fixtures.py`"
        )
    worker.load_models()
    card_paths, sets = load_manifest(args.fixtures)
    cards = {person: worker.enroll(path.read_bytes()) for person, path in card_paths.items()}
    print("\n== Development set ==")
    portraits = evalset.load()
    rng = random.Random(args.seed)
    persons = devset.people(portraits, args.seed)
    if args.only == "light":
        devset.light(persons, args.attacks, args.threshold, rng)
        return
    pad_rates(cards, sets, args.threshold)
    devset.genuine(persons, args.sessions, args.threshold, rng)
    devset.attacks_on(persons, args.attacks, args.threshold, rng)
    devset.light(persons, args.attacks, args.threshold, rng)
    devset.distances(portraits, args.threshold)
    match_rates(cards, selfies(args.fixtures), sets, args.threshold)
    session_cost(sets, cards, args.threshold)
    reroll()
    if not args.skip_health:
        print("\n== Event loop under face load (real server, 4 sessions at once) ==")
        health_load.report(health_load.measure(sessions=4), sessions=4)


if __name__ == "__main__":
    main()
