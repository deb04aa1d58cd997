"""1:1 matching of live encodings against the card photo's template. Pure functions.

The distance is the Euclidean distance between dlib's 128-d encodings (what face_recognition
calls `face_distance`). Its default tolerance of 0.6 is too loose for identity proofing; the
service's threshold comes from settings (`face_match_threshold`), and `DEFAULT_MATCH_THRESHOLD` is
the value chosen from the distances measured by `bench/face.py` on the fixtures: genuine pairs
(card photo against a different photo and the live frames of the same person) reached 0.44,
impostor pairs started at 0.64. 0.5 keeps every genuine pair with some margin for card photos
taken years earlier, and stays well below face_recognition's 0.6; raising it trades false
matches for fewer rejected holders.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from app.face.engine import ENCODER_MODEL, CardTemplate

Encoding = npt.NDArray[np.float64]

DEFAULT_MATCH_THRESHOLD = 0.5
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
