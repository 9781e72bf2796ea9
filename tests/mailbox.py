"""A real SMTP server for tests: aiosmtpd on loopback, keeping what it receives."""
from __future__ import annotations

import asyncio
import email
import socket
import threading
import time
from email.header import decode_header, make_header

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    def __init__(self):
        self.messages: list[tuple[str, list[str], email.message.Message]] = []
        self.refuse: set[str] = set()
        self.peers: list = []  # the client's (address, port) of each message received: its connection
        self.hang_up_after: int | None = None  # answer DATA with 421 once this many were received
        # While ``stall`` is set to an unset Event, DATA is answered only once it is set (a slow
        # server); ``stalled`` is set when a message waits so.
        self.stall: threading.Event | None = None
        self.stalled = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.stall is not None:
            self.stalled.set()
            await asyncio.get_running_loop().run_in_executor(None, self.stall.wait, 30)
        if self.hang_up_after is not None and len(self.messages) >= self.hang_up_after:
            return "421 4.3.2 service shutting down"
        self.peers.append(session.peer)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.original_content)))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.Message]:
        return [m for _sender, rcpts, m in self.messages if address in rcpts]

    def wait_for(self, address: str, predicate=lambda m: True, timeout: float = 10.0) -> email.message.Message:
        """The first message to ``address`` that satisfies ``predicate``, waiting for it."""
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.to(address) if predicate(m)]
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no such mail to {address}; got: "
                                     f"{[subject(m) for m in self.to(address)]}")
            time.sleep(0.05)


def start(inbox: Inbox) -> tuple[Controller, int]:
    port = free_port()  # aiosmtpd's start-up self-check needs a concrete port
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, port


def subject(message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def body(message) -> str:
    return message.get_payload(decode=True).decode(message.get_content_charset() or "utf-8")
