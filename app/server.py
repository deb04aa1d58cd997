"""`ecard serve`: uvicorn, one process or N on one port.

With several processes uvicorn binds the shared listening socket itself and leaves its protocol
number at 0. Accepted connections inherit it, and asyncio turns on TCP_NODELAY only for sockets
that say IPPROTO_TCP, so every keep-alive response after the first would wait for the client's
delayed ACK (about 40 ms on Linux; uvicorn issue #3149): two processes answered five times fewer
requests than one. The listener here is bound as TCP explicitly.
"""

from __future__ import annotations

import socket

import uvicorn
from uvicorn.supervisors import Multiprocess

APP = "app.asgi:app_from_env"


class TcpConfig(uvicorn.Config):
    def bind_socket(self) -> socket.socket:
        bound = super().bind_socket()
        if bound.family not in (socket.AF_INET, socket.AF_INET6):
            return bound
        tcp = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())
        tcp.set_inheritable(True)
        return tcp


def run(host: str, port: int, workers: int, forwarded_allow_ips: str | None) -> None:
    # The client address bounds SMS codes per address: a forwarded one is believed only from the
    # balancers named (uvicorn would otherwise trust X-Forwarded-For from loopback).
    config = TcpConfig(APP, factory=True, host=host, port=port, log_level="info", workers=workers,
                       proxy_headers=forwarded_allow_ips is not None, forwarded_allow_ips=forwarded_allow_ips)
    if workers == 1:
        uvicorn.Server(config).run()
        return
    Multiprocess(config, sockets=[config.bind_socket()]).run()
