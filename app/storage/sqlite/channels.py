from __future__ import annotations

import sqlite3

import aiosqlite

from app.domain.channels import Channel
from app.storage.sqlite.codec import dumps, from_ts, loads_tuple, ts


class SqliteChannels:
    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def add(self, channel: Channel) -> bool:
        try:
            await self._conn.execute(
                "INSERT INTO channels (client_id, name, kind, secret_hash, redirect_uris, scopes,"
                " created_at, face_challenge) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (channel.client_id, channel.name, channel.kind, channel.secret_hash,
                 dumps(list(channel.redirect_uris)), dumps(list(channel.scopes)), ts(channel.created_at),
                 channel.face_challenge),
            )
        except sqlite3.IntegrityError:
            return False
        return True

    async def get(self, client_id: str) -> Channel | None:
        cursor = await self._conn.execute("SELECT * FROM channels WHERE client_id = ?", (client_id,))
        row = await cursor.fetchone()
        if row is None:
            return None
        return Channel(
            client_id=row["client_id"], name=row["name"], kind=row["kind"],
            secret_hash=row["secret_hash"], redirect_uris=loads_tuple(row["redirect_uris"]),
            scopes=loads_tuple(row["scopes"]), created_at=from_ts(row["created_at"]),
            face_challenge=row["face_challenge"],
        )
