"""The listening socket `ecard serve --workers N` shares among its processes is bound as TCP, so
that asyncio sets TCP_NODELAY on every accepted connection (uvicorn's own leaves it off, and each
keep-alive response would wait for a delayed ACK)."""

from __future__ import annotations

import asyncio
import socket

from app.server import TcpConfig


async def test_connections_accepted_on_the_shared_listener_send_without_delay() -> None:
    listener = TcpConfig("app.asgi:app_from_env", host="127.0.0.1", port=0, workers=2).bind_socket()
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
    try:
        _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        assert await asyncio.wait_for(accepted, 10) != 0
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
    assert listener.proto == socket.IPPROTO_TCP
