"""Operator endpoints, guarded by the admin token (ECARD_ADMIN_TOKEN)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, post
from litestar.params import HeaderParameter, JSONBody

from app.clock import rfc3339
from app.domain.channels import CreatedChannel, NewChannel
from app.errors import Unauthenticated
from app.http.deps import ServicesDep
from app.http.openapi import PROBLEMS
from app.security.secrets import same
from models.oauth import ChannelView, NewChannelRequest


def channel_view(created: CreatedChannel) -> ChannelView:
    channel = created.channel
    return ChannelView(
        client_id=channel.client_id, name=channel.name, kind=channel.kind, scopes=list(channel.scopes),
        redirect_uris=list(channel.redirect_uris), created_at=rfc3339(channel.created_at),
        face_challenge=channel.face_challenge, client_secret=created.client_secret,
    )


class AdminController(Controller):
    path = "/v1/admin"
    tags = ["admin"]

    @post("/channels", status_code=201, responses=PROBLEMS)
    async def add_channel(
        self, data: JSONBody[NewChannelRequest], services: ServicesDep,
        authorization: Annotated[str, HeaderParameter(name="authorization")] = "",
    ) -> ChannelView:
        """Register a channel; the response carries `client_secret` once, for confidential kinds."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not same(token.strip(), services.settings.admin_token):
            raise Unauthenticated("the admin token is required", code="invalid_admin_token")
        created = await services.channels.create(NewChannel(
            client_id=data.client_id, kind=data.kind, scopes=tuple(data.scopes),
            redirect_uris=tuple(data.redirect_uris), name=data.name, face_challenge=data.face_challenge,
        ))
        return channel_view(created)
