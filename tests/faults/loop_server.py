"""The asyncio server both fault servers (``hostile.py``, ``proxy.py``) run on: its own event
loop in a daemon thread, listening on a free loopback port. ``stop()`` closes the listener and
cancels every connection still open, so a test's server never outlives the test."""

from __future__ import annotations

import asyncio
import ssl
import threading


class LoopServer:
    """Subclasses answer one connection in ``_client``; ``_listen()`` returns the port."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self.port = 0

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    def _listen(self, context: ssl.SSLContext | None = None) -> int:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._client, "127.0.0.1", 0, ssl=context), self._loop
        )
        self._server = future.result(10)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            # until none is left: a connection accepted meanwhile starts a new one
            while tasks := [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop.close()
