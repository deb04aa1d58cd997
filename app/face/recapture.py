"""Cues against a face filmed off a screen or a print (a recapture), over the whole sequence."""

from __future__ import annotations

import numpy as np

from app.face.evidence import CheckResult, Evidence, fail


def check_recapture(evidence: Evidence) -> CheckResult:
    """A face filmed off a screen or a print: moiré, a print's raised black, or glare.

    Each cue is the median over the frames with a face, so one odd frame decides nothing. moiré
    is the interference of a pixel grid or halftone with the camera's own sampling grid; the
    black level is the floor a reflecting print cannot go below (its blackest ink and the room
    light its surface scatters), which no exposure setting removes.
    """
    faces = evidence.faces
    params = evidence.params
    moire = float(np.median([f.moire for f in faces]))
    glare = float(np.median([f.glare for f in faces]))
    black = float(np.median([f.black_level for f in faces]))
    scores = {"moire": moire, "glare": glare, "black_level": black}
    if moire > params.max_moire:
        return fail("liveness_failed", "screen interference pattern on the face", scores)
    if black > params.max_black_level:
        return fail("liveness_failed", "the darkest tones are lifted as on a print", scores)
    if glare > params.max_glare:
        return fail("liveness_failed", "glare on the face", scores)
    return CheckResult(scores=scores)


