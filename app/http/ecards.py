"""The holder's e-card: claim, view, channel links. Called by a channel acting for the citizen."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, Response, delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from app.clock import rfc3339
from app.domain.ecard_usage import DEFAULT_PAGE, MAX_PAGE
from app.domain.ecards import EcardView as DomainView
from app.domain.principals import Principal
from app.http.deps import PrincipalDep, ServicesDep
from app.http.openapi import NO_STORE_HEADERS, PROBLEMS
from models.ecards import (
    ClaimedEcard,
    EcardView,
    HolderLossReport,
    HolderUnlock,
    LinkedChannel,
    RenewedEcard,
    StatusReference,
    UsageEntry,
    UsageHistory,
    UsageParty,
)
from models.realname import MaskedHolder


def ecard_view(view: DomainView) -> EcardView:
    ecard = view.ecard
    return EcardView(
        sign_no=ecard.sign_no, state=ecard.state, card_no=ecard.card_no, aab301=view.aab301,
        sign_level=ecard.sign_level,
        holder=MaskedHolder(name=view.holder.name, id_number=view.holder.id_number),
        channels=[LinkedChannel(client_id=c, linked_at=rfc3339(at)) for c, at in _channels(view)],
        issued_at=rfc3339(ecard.issued_at), valid_until=rfc3339(ecard.expires_at),
        state_since=rfc3339(ecard.state_since),
        status=StatusReference(idx=ecard.status_idx, uri=view.status_uri),
        replaced_by=ecard.replaced_by,
    )


def _channels(view: DomainView) -> list[tuple[str, datetime]]:
    """One entry per channel, however many accounts of the person linked it."""
    first: dict[str, datetime] = {}
    for link in view.channels:
        first.setdefault(link.client_id, link.linked_at)
    return list(first.items())


def holder_of(principal: Principal, scope: str) -> tuple[int, str | None]:
    """(account, channel) of the caller: a channel token for the citizen, or the citizen's login."""
    if principal.kind == "user":
        return principal.user(), None
    return principal.acting_for_user(scope)


class EcardController(Controller):
    path = "/v1/ecards"
    tags = ("e-card",)

    @post("/", status_code=201, responses=PROBLEMS)
    async def claim(self, services: ServicesDep, principal: PrincipalDep) -> Response[ClaimedEcard]:
        """Issue the e-card (201), or return the existing one for this channel (200).

        Scope `ecard:claim`; a face verification of the holder must have passed within 10 minutes.
        """
        account_id, client_id = principal.acting_for_user("ecard:claim")
        issued = await services.issuance.ecards.claim(account_id, client_id)
        expires_in = int((issued.view.ecard.expires_at - services.clock.now()).total_seconds())
        body = ClaimedEcard(token=issued.token, expires_in=expires_in, ecard=ecard_view(issued.view))
        return Response(body, status_code=201 if issued.created else 200)

    @post("/me/renewal", status_code=200, responses=PROBLEMS, response_headers=NO_STORE_HEADERS)
    async def renew(self, services: ServicesDep, principal: PrincipalDep) -> RenewedEcard:
        """A fresh token for the same active e-card (same `jti`/sign number, new `exp`).

        Scope `ecard:read`; a suspended or invalid e-card answers 409 `ecard_not_active`.
        """
        account_id, client_id = principal.acting_for_user("ecard:read")
        issued = await services.issuance.ecards.renew(account_id, client_id)
        expires_in = int((issued.view.ecard.expires_at - services.clock.now()).total_seconds())
        return RenewedEcard(token=issued.token, expires_in=expires_in, ecard=ecard_view(issued.view))

    @get("/me", responses=PROBLEMS)
    async def me(self, services: ServicesDep, principal: PrincipalDep) -> EcardView:
        """The holder's e-card and its state; scope `ecard:read` (or the citizen's own login)."""
        account_id, client_id = holder_of(principal, "ecard:read")
        return ecard_view(await services.issuance.ecards.me(account_id, client_id))

    @get("/me/usage", responses=PROBLEMS)
    async def usage(
        self, services: ServicesDep, principal: PrincipalDep,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
        cursor: Annotated[str | None, QueryParameter(min_length=1, max_length=96)] = None,
    ) -> UsageHistory:
        """The e-card's use, newest first: QR verifications, claims, channel links and unlinks.

        Scope `ecard:read`; `cursor` is the `next_cursor` of the page before (400 `cursor_invalid`
        for any other), `limit` 1 to 100 (default 20).
        """
        account_id, client_id = principal.acting_for_user("ecard:read")
        page = await services.issuance.ecards.usage(account_id, client_id, limit=limit, cursor=cursor)
        return UsageHistory(
            entries=[UsageEntry(kind=e.kind, at=rfc3339(e.at),
                                party=UsageParty(client_id=e.client_id, name=e.party_name, kind=e.party_kind),
                                family_member=MaskedHolder(name=e.family_member.name,
                                                           id_number=e.family_member.id_number)
                                if e.family_member else None)
                     for e in page.entries],
            next_cursor=page.next_cursor,
        )

    @post("/me/loss-reports", status_code=200, responses=PROBLEMS)
    async def report_loss(self, data: JSONBody[HolderLossReport], services: ServicesDep,
                          principal: PrincipalDep) -> EcardView:
        """The holder reports the physical card temporarily lost (临时挂失); the e-card is suspended.

        Scope `ecard:manage` and a face session of the holder's card that passed within 10 minutes,
        spent on this report (403 `face_verification_required`, 409 `face_session_used`). A formal
        report stays with the counter (409 `formal_loss_at_counter`).
        """
        account_id, client_id = principal.acting_for_user("ecard:manage")
        return ecard_view(await services.holder.report_loss(account_id, client_id, data.face_session_id,
                                                            data.kind))

    @post("/me/unlock", status_code=200, responses=PROBLEMS)
    async def unlock_card(self, data: JSONBody[HolderUnlock], services: ServicesDep,
                          principal: PrincipalDep) -> EcardView:
        """The holder lifts the card's temporary loss report (解挂); the e-card is active again.

        Scope `ecard:manage`, face session as for a loss report. A loss made by the 300-day rule is
        lifted at a counter (409 `unlock_at_counter`), a formal one never (409
        `formal_loss_irreversible`).
        """
        account_id, client_id = principal.acting_for_user("ecard:manage")
        return ecard_view(await services.holder.unlock(account_id, client_id, data.face_session_id))

    @delete("/me", status_code=204, responses=PROBLEMS)
    async def cancel(
        self, services: ServicesDep, principal: PrincipalDep,
        face_session_id: Annotated[str, QueryParameter(min_length=1, max_length=64)],
    ) -> None:
        """The holder cancels the e-card (注销): it is invalid at once; a later claim issues a new one.

        Scope `ecard:manage`, face session as for a loss report; the physical card is not touched.
        """
        account_id, client_id = principal.acting_for_user("ecard:manage")
        await services.holder.cancel(account_id, client_id, face_session_id)

    @delete("/me/channels/{target:str}", status_code=204, responses=PROBLEMS)
    async def unlink(self, target: FromPath[str], services: ServicesDep, principal: PrincipalDep) -> None:
        """Unlink one channel from the holder's e-card; the other channels keep theirs."""
        account_id, client_id = holder_of(principal, "ecard:read")
        await services.issuance.ecards.unlink(account_id, client_id, target)
