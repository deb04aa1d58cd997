"""A passed face session as the holder's proof for one act: reporting the card lost, lifting that
report, cancelling the e-card, accepting a family link.

The session must be the caller's own, must have passed within `FACE_WINDOW` (10 minutes) and must
have verified the card the act touches. It is spent on the act it proves: sent again for the same
act (a retry after a lost answer) it is recognised, for any other act it is refused, so that one
look at the camera authorises one thing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from app.domain.ecards import FACE_WINDOW
from app.errors import Conflict, Forbidden

if TYPE_CHECKING:
    from datetime import datetime

    from app.domain.uow import UnitOfWork

# Why a face session does not prove an act (the `reason` of `403 face_verification_required`).
Shortfall = Literal["unknown_session", "not_passed", "expired", "other_card"]

_DETAIL: dict[Shortfall, str] = {
    "unknown_session": "no such face session for this account",
    "not_passed": "the face session has not passed",
    "expired": f"the face session passed more than {int(FACE_WINDOW.total_seconds() // 60)} minutes ago",
    "other_card": "the face session verified another card",
}


def _refuse(reason: Shortfall) -> Forbidden:
    return Forbidden(f"{_DETAIL[reason]}; pass a new face verification for this act",
                     code="face_verification_required", reason=reason)


async def spend_face_pass(uow: UnitOfWork, session_id: str, *, account_id: int, card_no: str, act: str,
                          now: datetime) -> bool:
    """Spend `session_id` on `act` (e.g. `"loss_report:<sign_no>"`), inside the act's transaction.

    True when it is spent now; False when it was spent on this very act before (the caller answers
    as it did then). `403 face_verification_required` with a `reason` when the session proves
    nothing here, `409 face_session_used` when it was spent on another act.
    """
    session = await uow.face_sessions.get(session_id)
    if session is None or session.account_id != account_id:
        raise _refuse("unknown_session")
    if session.status != "passed" or session.completed_at is None:
        raise _refuse("not_passed")
    if session.card_no != card_no:
        raise _refuse("other_card")
    spent = session.spent_on
    if spent is None:
        if session.completed_at < now - FACE_WINDOW:
            raise _refuse("expired")
        spent = await uow.face_sessions.spend(session_id, act, now)
        if spent is None:
            return True
    if spent == act:
        return False
    raise Conflict("this face session was used for another act; pass a new face verification",
                   code="face_session_used")
