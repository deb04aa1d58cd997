"""Cues against a face filmed off a screen or a print (a recapture), over the whole sequence."""

from __future__ import annotations

import numpy as np

from app.face.evidence import CheckResult, Evidence, fail


def check_recapture(evidence: Evidence) -> CheckResult:
    """A face filmed off a screen or a glossy print: moiré or glare across the sequence."""
    faces = evidence.faces
    moire = float(np.median([f.moire for f in faces]))
    glare = float(np.median([f.glare for f in faces]))
    scores = {"moire": moire, "glare": glare}
    if moire > evidence.params.max_moire:
        return fail("liveness_failed", "screen interference pattern on the face", scores)
    if glare > evidence.params.max_glare:
        return fail("liveness_failed", "glare on the face", scores)
    return CheckResult(scores=scores)


