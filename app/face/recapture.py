"""Cues against a face filmed off a screen or a print (a recapture), over the whole sequence."""

from __future__ import annotations

from app.face.evidence import CheckResult, Evidence, fail


def check_recapture(evidence: Evidence) -> CheckResult:
    """A face filmed off a screen or a print: moiré, a print's raised black, or glare.

    Each cue is the median over the frames with a face, so one odd frame decides nothing. moiré
    is the interference of a pixel grid or halftone with the camera's own sampling grid; the
    black level is the floor a reflecting print cannot go below (its blackest ink and the room
    light its surface scatters), which no exposure setting removes.
    """
    params = evidence.params
    moire, glare, black = (evidence.median(figure) for figure in ("moire", "glare", "black_level"))
    scores = {"moire": moire, "glare": glare, "black_level": black}
    if moire > params.max_moire:
        return fail("liveness_failed", "screen interference pattern on the face", scores)
    if black > params.max_black_level:
        return fail("liveness_failed", "the darkest tones are lifted as on a print", scores)
    if glare > params.max_glare:
        return fail("liveness_failed", "glare on the face", scores)
    return CheckResult(scores=scores)


