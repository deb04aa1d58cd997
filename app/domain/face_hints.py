"""What to tell a person whose face verification failed: one short hint per reason, Chinese first.

Hints say what to do differently, never which cue caught an attack: naming the cue would tell an
attacker what to fix. So every presentation-attack failure shares the `liveness_failed` hint.
"""

from __future__ import annotations

import msgspec


class Hint(msgspec.Struct, frozen=True, kw_only=True):
    zh: str
    en: str


HINTS: dict[str, Hint] = {
    "no_face": Hint(zh="未检测到人脸，请将面部置于取景框内", en="No face was seen: keep your face inside the frame."),
    "multiple_faces": Hint(zh="画面中只能有一张人脸", en="Only one face may be in the picture."),
    "face_too_small": Hint(zh="请靠近一些，让面部充满取景框", en="Move closer so that your face fills the frame."),
    "face_not_frontal": Hint(zh="请正对屏幕，保持头部端正", en="Face the screen directly and hold your head upright."),
    "poor_quality": Hint(zh="请在光线充足处拿稳手机重试", en="Try again in good light and hold the phone steady."),
    "liveness_failed": Hint(
        zh="请按提示依次完成动作，动作完成后回到正视状态",
        en="Do each action in the order shown, returning to face the screen after each one.",
    ),
    "face_mismatch": Hint(
        zh="人脸与社保卡照片不一致，请本人操作", en="The face does not match the card photo: the holder must do this."
    ),
    "expired": Hint(zh="验证已超时，请重新开始", en="The verification timed out: start again."),
    "no_card_photo": Hint(
        zh="社保卡照片无法用于比对，请到经办网点更新照片",
        en="The card photo cannot be used for matching: update it at a service counter.",
    ),
}


def hint_for(reason: str | None) -> Hint | None:
    """The hint for a failure reason; None for reasons without one."""
    return HINTS.get(reason or "")
