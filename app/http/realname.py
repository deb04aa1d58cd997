"""Real-name check (实名认证), called by a channel acting for the citizen."""

from __future__ import annotations

from litestar import Controller, post
from litestar.params import JSONBody

from app.clock import rfc3339
from app.domain.idnumber import mask_name
from app.http.deps import PrincipalDep, ServicesDep
from app.http.openapi import PROBLEMS
from models.realname import MaskedHolder, RealnameRequest, RealnameResult


class RealnameController(Controller):
    path = "/v1/realname"
    tags = ["real-name and face"]

    @post("/", status_code=201, responses=PROBLEMS)
    async def check(
        self, data: JSONBody[RealnameRequest], services: ServicesDep, principal: PrincipalDep
    ) -> RealnameResult:
        """Check name + ID number against the card registry.

        `purpose` `claim` (scope `ecard:claim`): the card must be usable. `manage` (scope
        `ecard:manage`): the check before the face session that proves one of the holder's own acts;
        a card reported lost passes, a replaced or cancelled one does not.
        """
        account_id, client_id = principal.acting_for_user("ecard:manage" if data.purpose == "manage"
                                                          else "ecard:claim")
        result = await services.realname.check(account_id, client_id, data.name, data.id_number, data.purpose)
        card = result.card
        return RealnameResult(
            realname_id=result.check.id,
            holder=MaskedHolder(name=mask_name(card.name), id_number=card.id_masked),
            card_no=card.card_no, aab301=card.aab301, expires_at=rfc3339(result.check.expires_at),
        )
