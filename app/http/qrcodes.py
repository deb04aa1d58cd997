"""The dynamic QR code (亮码): shown by the holder, verified once by a relying party."""

from __future__ import annotations

import math

import segno
from litestar import Controller, post
from litestar.params import JSONBody

from app.clock import rfc3339
from app.domain.qrcodes import Verification
from app.http.deps import PrincipalDep, ServicesDep
from app.http.openapi import NO_STORE_HEADERS, PROBLEMS
from models.ecards import QrCode, QrCodeRequest, QrVerification, QrVerifyRequest
from models.realname import MaskedHolder


def qr_image(code: str, image_format: str) -> str:
    """The QR symbol as a data: URI (error correction M: survives smudged phone screens)."""
    symbol = segno.make_qr(code, error="m")
    if image_format == "svg":
        return str(symbol.svg_data_uri(scale=4, border=4))
    return str(symbol.png_data_uri(scale=4, border=4))


def verification_view(v: Verification) -> QrVerification:
    return QrVerification(
        sub=v.subject, sign_no=v.sign_no,
        holder=MaskedHolder(name=v.holder_name, id_number=v.holder_id_number),
        aab301=v.aab301, sign_level=v.sign_level, ecard_state=v.ecard_state,  # type: ignore[arg-type]
        card_usable=v.card_usable, verified_at=rfc3339(v.verified_at), card_no=v.card_no,
        presented_by=v.presented_by,
        presenter=MaskedHolder(name=v.presenter.name, id_number=v.presenter.id_number) if v.presenter else None,
    )


class QrCodeController(Controller):
    tags = ("e-card",)

    @post("/v1/ecards/me/qrcodes", status_code=201, responses=PROBLEMS, response_headers=NO_STORE_HEADERS)
    async def issue(self, services: ServicesDep, principal: PrincipalDep,
                    data: JSONBody[QrCodeRequest | None] = None) -> QrCode:
        """A single-use code valid for 60 seconds, with its QR symbol; scope `ecard:qrcode`."""
        account_id, client_id = principal.acting_for_user("ecard:qrcode")
        issued = await services.issuance.qrcodes.issue(account_id, client_id)
        image_format = data.image_format if data else "png"
        # Whole seconds left, rounded up: 60 at issuance, not 59 and a fraction cut off.
        expires_in = math.ceil((issued.expires_at - services.clock.now()).total_seconds())
        return QrCode(code=issued.code, expires_in=expires_in, expires_at=rfc3339(issued.expires_at),
                      image=qr_image(issued.code, image_format), image_format=image_format)

    @post("/v1/qrcodes/verify", status_code=200, responses=PROBLEMS)
    async def verify(self, data: JSONBody[QrVerifyRequest], services: ServicesDep,
                     principal: PrincipalDep) -> QrVerification:
        """Verify and consume a code; a relying party's client_credentials token, `ecard:verify`.

        A code a holder showed of a relative's card (family service) answers as the relative's card
        with `presented_by: family` and the holder as `presenter`; 409 `family_link_ended` when the
        link has ended since the code was shown.
        """
        verifier = principal.channel("ecard:verify")
        return verification_view(
            await services.issuance.qrcodes.verify(verifier, principal.scopes, data.code))
