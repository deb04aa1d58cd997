"""The family service (亲情服务): a holder invites relatives (at most 8), a relative accepts with a
face session, and the holder shows the relative's e-card as a QR code. Called by a channel acting
for the citizen."""

from __future__ import annotations

import math

from litestar import Controller, Response, delete, get, post
from litestar.params import FromPath, JSONBody

from app.clock import rfc3339
from app.domain.family import LinkView
from app.http.deps import PrincipalDep, ServicesDep
from app.http.openapi import NO_STORE_HEADERS, PROBLEMS
from app.http.qrcodes import qr_image
from models.ecards import QrCode, QrCodeRequest
from models.family import AcceptRequest, FamilyLink, FamilyLinks, Invitation, InvitationRequest
from models.realname import MaskedHolder


def link_view(view: LinkView) -> FamilyLink:
    return FamilyLink(
        link_id=view.link.id, role=view.role, relation=view.link.relation,
        member=MaskedHolder(name=view.member.name, id_number=view.member.id_number),
        member_ecard_state=view.member_state, created_at=rfc3339(view.link.created_at),
    )


class FamilyController(Controller):
    tags = ("family service",)

    @post("/v1/ecards/me/family/invitations", status_code=201, responses=PROBLEMS,
          response_headers=NO_STORE_HEADERS)
    async def invite(self, data: JSONBody[InvitationRequest], services: ServicesDep,
                     principal: PrincipalDep) -> Invitation:
        """A single-use invitation code, valid for 24 hours, for a relative to accept.

        Scope `ecard:manage`; the holder's e-card must not be invalid (409 `ecard_not_active`).
        409 `family_full` when the holder has 8 live links; 429 `rate_limited` past the day's
        invitations.
        """
        account_id, client_id = principal.acting_for_user("ecard:manage")
        issued = await services.family.invite(account_id, client_id, data.relation)
        expires_in = math.ceil((issued.expires_at - services.clock.now()).total_seconds())
        return Invitation(invitation_code=issued.code, relation=issued.relation, expires_in=expires_in)

    @post("/v1/family/invitations/{code:str}/accept", status_code=201, responses=PROBLEMS)
    async def accept(self, code: FromPath[str], data: JSONBody[AcceptRequest], services: ServicesDep,
                     principal: PrincipalDep) -> Response[FamilyLink]:
        """The relative accepts with their own active e-card: the link (201), or, sent again with
        the same face session after a lost answer, the link it made (200).

        Scope `ecard:manage` and a face session of the relative's card passed within 10 minutes,
        spent on this acceptance (403 `face_verification_required`, 409 `face_session_used`).
        404 `invitation_not_found`, 410 `invitation_expired`, 409 `invitation_used`, `family_self`,
        `family_link_exists`, `invitation_invalid` (the holder's e-card is invalid), `family_full`.
        """
        account_id, client_id = principal.acting_for_user("ecard:manage")
        accepted = await services.family.accept(account_id, client_id, code, data.face_session_id)
        return Response(link_view(accepted.view), status_code=201 if accepted.created else 200)

    @get("/v1/ecards/me/family", responses=PROBLEMS)
    async def links(self, services: ServicesDep, principal: PrincipalDep) -> FamilyLinks:
        """The live links of the holder's e-card both ways, oldest first; scope `ecard:read`."""
        account_id, client_id = principal.acting_for_user("ecard:read")
        return FamilyLinks(links=[link_view(v) for v in await services.family.links(account_id, client_id)])

    @delete("/v1/ecards/me/family/{link_id:str}", status_code=204, responses=PROBLEMS)
    async def end(self, link_id: FromPath[str], services: ServicesDep, principal: PrincipalDep) -> None:
        """End a live link, from either side; scope `ecard:manage`. 404 `family_link_not_found` for a
        link that is unknown, ended or not the caller's."""
        account_id, client_id = principal.acting_for_user("ecard:manage")
        await services.family.end(account_id, client_id, link_id)

    @post("/v1/ecards/me/family/{link_id:str}/qrcodes", status_code=201, responses=PROBLEMS,
          response_headers=NO_STORE_HEADERS)
    async def qrcode(self, link_id: FromPath[str], services: ServicesDep, principal: PrincipalDep,
                     data: JSONBody[QrCodeRequest | None] = None) -> QrCode:
        """A QR code of the relative's e-card, shown by the holder of the link (60 seconds, one
        scan); a verification answers `presented_by: family` with the holder as `presenter`.

        Scope `ecard:qrcode`; 403 `not_link_holder` on the relative's side, 409 `ecard_not_active`
        when the relative's e-card is not active, 404 `family_link_not_found`.
        """
        account_id, client_id = principal.acting_for_user("ecard:qrcode")
        issued = await services.family.issue_qrcode(account_id, client_id, link_id)
        image_format = data.image_format if data else "png"
        expires_in = math.ceil((issued.expires_at - services.clock.now()).total_seconds())
        return QrCode(code=issued.code, expires_in=expires_in, expires_at=rfc3339(issued.expires_at),
                      image=qr_image(issued.code, image_format), image_format=image_format)
