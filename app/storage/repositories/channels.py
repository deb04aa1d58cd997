from __future__ import annotations

from app.domain.channels import Channel
from app.storage.repositories.codec import dumps, from_ts, loads_tuple, ts
from app.storage.sql import Duplicate, Sql


class SqlChannels:
    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def add(self, channel: Channel) -> bool:
        try:
            await self._sql.run(
                "INSERT INTO channels (client_id, name, kind, secret_hash, redirect_uris, scopes,"
                " created_at, face_challenge) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (channel.client_id, channel.name, channel.kind, channel.secret_hash,
                 dumps(list(channel.redirect_uris)), dumps(list(channel.scopes)), ts(channel.created_at),
                 channel.face_challenge),
            )
        except Duplicate:
            return False
        return True

    async def get(self, client_id: str) -> Channel | None:
        row = await self._sql.one("SELECT * FROM channels WHERE client_id = ?", (client_id,))
        if row is None:
            return None
        return Channel(
            client_id=row["client_id"], name=row["name"], kind=row["kind"],
            secret_hash=row["secret_hash"], redirect_uris=loads_tuple(row["redirect_uris"]),
            scopes=loads_tuple(row["scopes"]), created_at=from_ts(row["created_at"]),
            face_challenge=row["face_challenge"],
        )
