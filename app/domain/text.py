"""Text that identifies a person: one spelling for what people and keyboards write several ways.

Numbers (phone, ID number, SMS code, PIN, card number) are ASCII. Python's `\\d` and `str.isdigit`
accept any script's digits, so `13５４１２２７９５７` would be a second phone and a full-width ID
number a second person. Full-width digits and letters (what Chinese input methods type in
full-width mode) are mapped to ASCII first, so they name the same person; anything else that is
not ASCII (Arabic-Indic, superscript or circled digits) is refused by the ASCII patterns.

Names are compared in one form (`normalise_name`): NFKC (which also maps CJK compatibility
ideographs and decomposed accents to their unified, composed form), every middle-dot variant
used between the parts of an ethnic-minority or foreign name (阿卜杜·热合曼) as U+00B7, which
GB 11643 ID cards print, invisible characters removed, and runs of spaces as one.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

ASCII_DIGITS: Final = "0123456789"

# Dots people type between the parts of a name: bullet, katakana middle dot, hyphenation point,
# bullet and dot operators, word-separator dots, the one-dot leader. NFKC already maps the
# half-width katakana dot to U+30FB and the Greek ano teleia to U+00B7.
_MIDDLE_DOTS: Final = "\u2022\u30fb\u2027\u2219\u22c5\u16eb\u2e31\u2e33\u2024\u00b7\ua78f\u0387\u02d1"
_TO_MIDDLE_DOT: Final = {ord(c): "\u00b7" for c in _MIDDLE_DOTS}
_SPACES: Final = re.compile(r"\s+")


def nfkc(raw: str) -> str:
    return unicodedata.normalize("NFKC", raw)


# Full-width ASCII (U+FF01-FF5E) and the ideographic space: what a Chinese input method types in
# full-width mode. Only these are mapped; superscript, circled or mathematical digits stay what they
# are and the ASCII patterns refuse them.
_FULL_WIDTH: Final = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def ascii_number(raw: str) -> str:
    """Full-width digits and letters as ASCII, surrounding space removed; nothing else changed
    (the caller's ASCII pattern refuses what is left)."""
    return raw.translate(_FULL_WIDTH).strip()


def is_ascii_digits(text: str, length: int | None = None) -> bool:
    """Only 0-9 (not other scripts' digits), and `length` of them when given."""
    return bool(text) and all(c in ASCII_DIGITS for c in text) and (length is None or len(text) == length)


def _invisible(char: str) -> bool:
    # Format characters (zero-width space and joiners, directional marks, the BOM, soft hyphen)
    # and variation selectors change nothing a reader sees.
    return unicodedata.category(char) == "Cf" or "\ufe00" <= char <= "\ufe0f"


def normalise_name(raw: str) -> str:
    """The one form in which names are stored and compared."""
    text = nfkc(raw).translate(_TO_MIDDLE_DOT)
    text = "".join(c for c in text if not _invisible(c))
    return _SPACES.sub(" ", text).strip()
