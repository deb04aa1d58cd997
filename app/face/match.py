"""1:1 matching of live encodings against the card photo's template. Pure functions.

The distance is the Euclidean distance between dlib's 128-d encodings (what face_recognition
calls `face_distance`). Its default tolerance of 0.6 is too loose for identity proofing; the
service's threshold comes from settings (`face_match_threshold`). `DEFAULT_MATCH_THRESHOLD` comes
from the development set (`bench/evalset.py`, `bench/face.py`): over 1,001 pairs of different
people the closest were 0.499 (two women in one group photo: same camera and light) and 0.52-0.54
(East-Asian strangers), while different photos of one person, years apart, spread from 0.32 to
0.65 (median 0.43). 0.45 keeps a tenth below the closest stranger pair and accepts about half of
the different-photo pairs; lowering it rejects more holders, raising it towards 0.5 reaches the
strangers. See README "Match threshold" for the trade-off and its limits.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from app.face.engine import ENCODER_MODEL, CardTemplate

Encoding = npt.NDArray[np.float64]

DEFAULT_MATCH_THRESHOLD = 0.45
ENCODING_SIZE = 128


def template_of(encoding: Encoding) -> CardTemplate:
    return CardTemplate(model=ENCODER_MODEL, encoding=[float(v) for v in encoding])


def template_encoding(card: CardTemplate) -> Encoding:
    """The template as an array; refuses templates of another model or size."""
    if card.model != ENCODER_MODEL or len(card.encoding) != ENCODING_SIZE:
        raise ValueError(f"card template of model {card.model!r} cannot be compared")
    return np.asarray(card.encoding, dtype=np.float64)


def distance(a: Encoding, b: Encoding) -> float:
    return float(np.linalg.norm(a - b))


def match_distance(live: Sequence[Encoding], card: CardTemplate) -> float:
    """Mean distance of the chosen live encodings to the card template."""
    if not live:
        raise ValueError("no live encoding to match")
    reference = template_encoding(card)
    return float(np.mean([distance(encoding, reference) for encoding in live]))
