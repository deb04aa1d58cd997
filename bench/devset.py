"""The face engine on the development set (`bench/evalset.py`): people it was never tuned on.

Prints, from one run:
- genuine sessions with random challenges, split by the resting pose measured on the portrait
  (within +-20 degrees of frontal, or beyond): BPCER of the liveness decision (every rejection
  except `face_mismatch`, which is the match's error, counted apart) and, beyond 20 degrees, the
  share answered `face_not_frontal`;
- attacks assembled from the same people: the challenge performed in a wrong order, a still
  photo, no action at all, two faces, and every print and screen family of `bench/attacks.py`
  (the families the recapture cues were tuned on are marked; the others are held out);
- the light challenge: genuine sessions that reflect the flashed colours, and animated stills,
  screen replays and other sessions' responses that do not;
- match distances between different photos of one person and between different people, with
  FMR / FNMR for a range of thresholds.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import attacks  # bench/attacks.py
import evalset  # bench/evalset.py
import numpy as np
from sessions import Performer, analyse, draw_challenge, side_by_side, still, wrong_orders

from app.face import match, worker
from app.face.engine import Action, CardTemplate, FaceUnusable, FaceVerdict, FrameAnalysis, LightResponse
from app.face.evidence import DEFAULT_PARAMS
from app.face.light import LightStep, ScreenTimeline, draw_light_sequence
from app.qa.landmarks import FaceCountError, single_face
from app.qa.light import LINEAR, covering_fps, respond, to_srgb

FRONTAL_LIMIT = DEFAULT_PARAMS.max_neutral_yaw
# Portraits whose resting yaw (measured on the still) lies this close to the limit are reported
# apart: the session's own estimate of the resting pose varies by a few degrees from the still's.
BOUNDARY = 3.0


@dataclass
class Person:
    """A portrait as a performer, and the card photo it is matched against."""

    portrait: evalset.Portrait
    performer: Performer
    card: CardTemplate
    card_photo: str  # which photo serves as the card: another photo of the person when there is one
    rest_yaw: float

    @property
    def frontal(self) -> bool:
        return abs(self.rest_yaw) <= FRONTAL_LIMIT - BOUNDARY

    @property
    def turned(self) -> bool:
        return abs(self.rest_yaw) > FRONTAL_LIMIT + BOUNDARY


def _card_for(portrait: evalset.Portrait, portraits: Sequence[evalset.Portrait]) -> evalset.Portrait:
    others = [p for p in portraits if p.identity == portrait.identity and p.photo != portrait.photo]
    return others[0] if others else portrait


def people(portraits: Sequence[evalset.Portrait], seed: int) -> list[Person]:
    out = []
    for index, portrait in enumerate(portraits):
        card_portrait = _card_for(portrait, portraits)
        try:
            card = worker.enroll_image(np.ascontiguousarray(card_portrait.image))
        except FaceUnusable as error:  # reported, not fatal
            print(f"  {portrait.identity}/{portrait.photo}: card photo unusable ({error})")
            continue
        performer = Performer.of(f"{portrait.identity}/{portrait.photo}", portrait.image, seed + index)
        try:
            single_face(performer.portrait)  # what the frame generator animates
        except FaceCountError as error:
            print(f"  {performer.name}: cannot be animated at capture scale ({error})")
            continue
        rest = worker.analyse_image(performer.portrait).yaw
        out.append(Person(portrait, performer, card, card_portrait.photo, rest))
    return out


def _decide(frames: Sequence[FrameAnalysis], challenge: Sequence[Action], card: CardTemplate,
            threshold: float, light: LightResponse | None = None) -> FaceVerdict:
    return worker.decide(list(challenge), list(frames), card, threshold, light)


def _rate(outcomes: Sequence[bool]) -> str:
    return f"{100.0 * sum(outcomes) / max(len(outcomes), 1):5.1f} % ({sum(outcomes)} of {len(outcomes)})"


def genuine(persons: Sequence[Person], sessions: int, threshold: float, rng: random.Random) -> None:
    """BPCER on frontal people; face_not_frontal share on the others."""
    frontal = [p for p in persons if p.frontal]
    turned = [p for p in persons if p.turned]
    boundary = [p for p in persons if not p.frontal and not p.turned]
    print(f"\n== Development set: genuine sessions with random challenges ({len(persons)} portraits: "
          f"{len(frontal)} resting within +-{FRONTAL_LIMIT - BOUNDARY:.0f} deg, {len(turned)} beyond "
          f"+-{FRONTAL_LIMIT + BOUNDARY:.0f} deg, {len(boundary)} in between) ==")
    reasons: Counter[str] = Counter()
    rejected: list[bool] = []
    mismatched: list[bool] = []
    per_person: dict[str, list[str]] = {}
    unperformed: Counter[str] = Counter()
    for index in range(sessions * 5):  # bounded: faces the generator cannot animate are skipped
        if len(rejected) >= max(sessions, len(frontal)):
            break
        person = frontal[index % len(frontal)]
        challenge = draw_challenge(rng)
        missing = [a for a in challenge if not person.performer.performs(a)]
        if missing:
            unperformed[f"{person.performer.name}: {'+'.join(missing)}"] += 1
            continue
        verdict = _decide(person.performer.perform(challenge), challenge, person.card, threshold)
        outcome = "passed" if verdict.passed else str(verdict.reason)
        reasons[outcome] += 1
        shown = outcome if verdict.passed else f"{outcome} ({verdict.detail})"
        per_person.setdefault(person.performer.name, []).append(f"{'+'.join(challenge)}: {shown}")
        rejected.append(not verdict.passed and verdict.reason != "face_mismatch")
        mismatched.append(verdict.reason == "face_mismatch")
    for name, outcomes in sorted(per_person.items()):
        print(f"  {name:40} {'; '.join(outcomes)}")
    print(f"verdicts: {dict(reasons)}")
    if unperformed:
        print(f"left out, the frame generator cannot animate these faces as far as a person moves "
              f"({sum(unperformed.values())} sessions): {dict(unperformed)}")
    print(f"BPCER (liveness, rest within +-{FRONTAL_LIMIT - BOUNDARY:.0f} deg) {_rate(rejected)}")
    print(f"match rejections of these genuine sessions (FNMR in sessions) {_rate(mismatched)}")
    answers = []
    for person in turned:
        challenge = draw_challenge(rng)
        verdict = _decide(person.performer.perform(challenge), challenge, person.card, threshold)
        answers.append(verdict.reason == "face_not_frontal")
        print(f"  turned {person.performer.name:33} rest {person.rest_yaw:+6.1f} deg -> "
              f"{'passed' if verdict.passed else verdict.reason}")
    print(f"resting beyond +-{FRONTAL_LIMIT + BOUNDARY:.0f} deg answered face_not_frontal {_rate(answers)}")
    for person in boundary:
        challenge = draw_challenge(rng)
        verdict = _decide(person.performer.perform(challenge), challenge, person.card, threshold)
        print(f"  near the limit {person.performer.name:25} rest {person.rest_yaw:+6.1f} deg -> "
              f"{'passed' if verdict.passed else verdict.reason}")


Attack = Callable[[Person, tuple[Action, ...], random.Random], tuple[list[FrameAnalysis], tuple[Action, ...]]]


def _wrong_order(person: Person, challenge: tuple[Action, ...], rng: random.Random) -> tuple[
        list[FrameAnalysis], tuple[Action, ...]]:
    return person.performer.perform(rng.choice(wrong_orders(challenge))), challenge


def _still(person: Person, challenge: tuple[Action, ...], rng: random.Random) -> tuple[
        list[FrameAnalysis], tuple[Action, ...]]:
    return analyse(still(person.performer.portrait, 24, np.random.default_rng(rng.randrange(2**32)))), challenge


def _no_action(person: Person, challenge: tuple[Action, ...], rng: random.Random) -> tuple[
        list[FrameAnalysis], tuple[Action, ...]]:
    return analyse(person.performer.at_rest(24)), challenge


def attacks_on(persons: Sequence[Person], per_kind: int, threshold: float, rng: random.Random) -> None:
    """APCER per attack kind, each attack against the attacked person's own card."""
    frontal = [p for p in persons if p.frontal]
    print(f"\n== Development set: attacks ({per_kind} per kind, {len(frontal)} people) ==")
    kinds: dict[str, Attack] = {"wrong_order": _wrong_order, "still_photo": _still, "no_action": _no_action}
    for kind, attack in kinds.items():
        accepted = []
        for index in range(per_kind):
            person = frontal[index % len(frontal)]
            frames, challenge = attack(person, draw_challenge(rng), rng)
            accepted.append(_decide(frames, challenge, person.card, threshold).passed)
        print(f"APCER[{kind}] {_rate(accepted)}")
    accepted = []
    for index in range(per_kind):
        person, other = frontal[index % len(frontal)], frontal[(index + 1) % len(frontal)]
        challenge = draw_challenge(rng)
        images = side_by_side(person.performer.perform_images(challenge), other.performer.portrait)
        accepted.append(_decide(analyse(images), challenge, person.card, threshold).passed)
    print(f"APCER[two_faces] {_rate(accepted)}")
    recaptures(frontal, per_kind, threshold, rng)


# Reasons that mean the capture could not be used (ISO/IEC 30107-3 keeps these apart from
# presentation attack decisions as failures to acquire).
NOT_ACQUIRED = frozenset({"no_face", "face_too_small", "poor_quality", "face_not_frontal"})


def recaptures(frontal: Sequence[Person], per_kind: int, threshold: float, rng: random.Random) -> None:
    """Every family of bench/attacks.py over genuine sessions; bona fide families must pass.

    BPCER counts bona fide sessions refused as attacks (`liveness_failed`); captures refused as
    unusable (too small, too dark, …) are counted apart as failures to acquire.
    """
    for family in attacks.FAMILIES:
        decided: list[bool] = []
        reasons: Counter[str] = Counter()
        scores: list[float] = []
        for index in range(per_kind):
            person = frontal[(index * 3 + 1) % len(frontal)]
            challenge = draw_challenge(rng)
            images = family.make(person.performer.perform_images(challenge),
                                 np.random.default_rng(rng.randrange(2**32)))
            verdict = _decide(analyse(images), challenge, person.card, threshold)
            reasons["passed" if verdict.passed else str(verdict.reason)] += 1
            scores.append(verdict.scores.get("moire", float("nan")))
            if verdict.reason in NOT_ACQUIRED or verdict.reason == "face_mismatch":
                continue
            decided.append(verdict.reason == "liveness_failed" if family.kind == "bona_fide" else verdict.passed)
        label = "BPCER" if family.kind == "bona_fide" else "APCER"
        tuned = "tuned" if family.name in TUNED_FAMILIES else "held out"
        print(f"{label}[{family.name}] ({tuned}) {_rate(decided)}  verdicts {dict(reasons)}")


# The families the recapture cues were set on (see app/face/recapture.py); the rest are held out.
TUNED_FAMILIES = frozenset({"bona_fide", "photo_print", "am_print", "lcd_stripe"})


def light(persons: Sequence[Person], per_kind: int, threshold: float, rng: random.Random) -> None:
    """Light sessions: genuine responses pass; no response, screen replay, a replayed response fail.

    The sessions are light-only (a channel with `face_challenge: light`): the person faces the
    screen and blinks now and then, so that what is measured is the light check itself.
    """
    frontal = [p for p in persons if p.frontal]
    print(f"\n== Light challenge ({per_kind} sessions per kind, light-only channel) ==")
    genuine_fail: list[bool] = []
    no_response: list[bool] = []
    replayed: list[bool] = []
    screens = [f for f in attacks.FAMILIES if f.kind == "screen"]
    on_screen: dict[str, list[bool]] = {screen.name: [] for screen in screens}
    for index in range(per_kind):
        person = frontal[index % len(frontal)]
        steps = draw_light_sequence(rng)
        blink = person.performer.sequence("blink")
        images = [*blink, *blink[::-1]]
        lag = rng.uniform(40, 220)
        lit, times = respond(images, steps, fps=covering_fps(steps, len(images), lag_ms=lag), lag_ms=lag,
                             seed=rng.randrange(2**32))
        frames = analyse(lit, light=True)
        asked = LightResponse(steps=steps, captured_at_ms=list(times))
        verdict = _decide(frames, (), person.card, threshold, asked)
        genuine_fail.append(not verdict.passed and verdict.reason != "face_mismatch")
        if genuine_fail[-1]:
            light_scores = {k: round(v, 3) for k, v in verdict.scores.items() if k.startswith("light_")}
            print(f"  {person.performer.name:40} {verdict.reason} ({verdict.detail}) {light_scores}")
        verdict = _decide(analyse(images, light=True), (), person.card, threshold, asked)
        no_response.append(verdict.passed)
        # The same lit frames presented to a session that flashed other colours.
        other = LightResponse(steps=draw_light_sequence(rng), captured_at_ms=list(times))
        replayed.append(_decide(frames, (), person.card, threshold, other).passed)
        for screen in screens:
            replay = screen_replay(images, steps, times, screen, lag, np.random.default_rng(rng.randrange(2**32)))
            verdict = _decide(analyse(replay, light=True), (), person.card, threshold, asked)
            if verdict.reason not in NOT_ACQUIRED:
                on_screen[screen.name].append(verdict.passed)
    print(f"BPCER[light, genuine response] {_rate(genuine_fail)}")
    for screen in screens:
        print(f"APCER[screen replay ({screen.name}) tinted in step with the colours, room around the screen] "
              f"{_rate(on_screen[screen.name])}")
    print(f"APCER[animated still without a light response] {_rate(no_response)}")
    print(f"APCER[response to another session's colours] {_rate(replayed)}")


def screen_replay(images: Sequence[evalset.Image], steps: Sequence[LightStep], times: Sequence[int],
                  screen: attacks.Family, lag: float, rng: np.random.Generator) -> list[evalset.Image]:
    """A recording replayed on a screen while the phone flashes its colours: the best an attacker's
    screen can do is shift the whole picture with each colour (it emits the face and the room
    alike), then the phone films it (the screen family's grid, optics and camera)."""
    shown, _ = ScreenTimeline.of(steps).shown(np.asarray(times, dtype=np.float64) - lag, 16.0)
    tinted = [
        to_srgb(LINEAR[frame] * (1.0 + 0.1 * colour.astype(np.float32))).round().clip(0, 255).astype(np.uint8)
        for frame, colour in zip(images, np.nan_to_num(shown), strict=True)
    ]
    return screen.make(tinted, rng)


def distances(portraits: Sequence[evalset.Portrait], threshold: float) -> None:
    """Photo-to-photo distances: genuine pairs (different photos) and every impostor pair."""
    encodings = {}
    for portrait in portraits:
        try:
            encodings[(portrait.identity, portrait.photo)] = match.template_encoding(
                worker.enroll_image(np.ascontiguousarray(portrait.image)))
        except FaceUnusable:  # an unusable photo is left out of the pairs
            continue
    keys = sorted(encodings)
    genuine_d, impostor_d = [], []
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            d = match.distance(encodings[a], encodings[b])
            (genuine_d if a[0] == b[0] else impostor_d).append(d)
    print(f"\n== Match distances on the development set ({len(keys)} photos) ==")
    for label, values in (("genuine (different photos)", genuine_d), ("impostor", impostor_d)):
        array = np.array(values)
        print(f"{label:27} n={len(values):5} min {array.min():.3f}  p05 {np.percentile(array, 5):.3f}  "
              f"median {np.median(array):.3f}  p95 {np.percentile(array, 95):.3f}  max {array.max():.3f}")
    for t in (0.40, 0.42, 0.44, 0.45, 0.46, 0.48, 0.50, 0.55, 0.60):
        fnmr = sum(d > t for d in genuine_d) / max(len(genuine_d), 1)
        fmr = sum(d <= t for d in impostor_d) / max(len(impostor_d), 1)
        mark = "  <- default" if abs(t - threshold) < 1e-9 else ""
        print(f"  threshold {t:.2f}: FNMR {100 * fnmr:5.1f} %  FMR {100 * fmr:5.2f} %{mark}")
