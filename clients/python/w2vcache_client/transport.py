"""HTTP to `w2vcache serve`: kept-alive connections, the bearer token, TLS, and errors turned into the client's own."""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import threading
import urllib.parse
from typing import Mapping, Optional

from .errors import ConnectionError, ProtocolError, ResponseError, TimeoutError

__all__ = ["Transport", "Response"]

#: The header every answer carries: what the cache serves (replicas of one cache agree).
FINGERPRINT = "X-W2VCache-Fingerprint"


class Response:
    """An answer being read. Its connection goes back to the pool once the body is read to its end; `close()`
    drops it instead (an answer abandoned midway cannot be reused)."""

    def __init__(self, transport: "Transport", connection: http.client.HTTPConnection,
                 response: http.client.HTTPResponse) -> None:
        self._transport = transport
        self._connection: Optional[http.client.HTTPConnection] = connection
        self._response = response
        self.status = response.status
        self.headers = response.headers
        length = response.getheader("Content-Length")
        #: The body's announced length, or None (a chunked answer).
        self.length: Optional[int] = int(length) if length is not None and length.isdigit() else None
        if length is not None and self.length is None:
            self.close()
            raise ProtocolError(f"the answer's Content-Length is {length!r}, not a number")

    def header(self, name: str) -> Optional[str]:
        return self._response.getheader(name)

    def read(self) -> bytes:
        """The whole body; the connection is then reused."""
        try:
            data = self._response.read()
        except (OSError, http.client.HTTPException) as error:
            self.close()
            raise _transport_error(self._transport.url, error) from None
        if self.length is not None and len(data) != self.length:
            self.close()
            raise ProtocolError(f"the answer's body holds {len(data)} bytes; its Content-Length says {self.length}")
        self._release()
        return data

    def read_exactly(self, count: int) -> bytes:
        """`count` bytes of the body, or ConnectionError if it ends first."""
        data = bytearray(count)
        self.readinto_exactly(memoryview(data))
        return bytes(data)

    def readinto_exactly(self, view: memoryview) -> None:
        filled = 0
        while filled < len(view):
            try:
                count = self._response.readinto(view[filled:])
            except (OSError, http.client.HTTPException) as error:
                self.close()
                raise _transport_error(self._transport.url, error) from None
            if not count:
                self.close()
                raise ConnectionError(f"the answer ended early ({filled} of {len(view)} bytes)")
            filled += count

    def finish(self) -> None:
        """Reads what is left of the body (nothing, for a finished stream) and gives the connection back."""
        try:
            rest = self._response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            return
        if rest:
            self.close()
            raise ProtocolError(f"{len(rest)} bytes follow the end of the answer")
        self._release()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _release(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            if self._response.will_close:
                connection.close()
            else:
                self._transport._give_back(connection)

    def __enter__(self) -> "Response":
        return self

    def __exit__(self, *exception: object) -> None:
        self.close()


class Transport:
    """Kept-alive connections to one server (or load balancer), shared by a client's calls.

    Idle connections wait in a small pool; a call takes one (or opens one) and gives it back once its answer is read,
    so a stream being read and a vector asked meanwhile use two. A process forked from this one (a DataLoader
    worker) opens its own: sockets are never shared across processes.
    """

    def __init__(self, url: str, *, timeout: float = 60.0, token: Optional[str] = None, ca_file: Optional[str] = None,
                 max_idle: int = 8) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"url {url!r}: expected http://HOST:PORT or https://HOST:PORT")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._scheme = parsed.scheme
        self._host = parsed.hostname
        self._port = parsed.port or (443 if parsed.scheme == "https" else 80)
        self._base = parsed.path.rstrip("/")
        token = token if token is not None else os.environ.get("W2VCACHE_TOKEN")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._ssl = ssl.create_default_context(cafile=ca_file) if parsed.scheme == "https" else None
        self._max_idle = max_idle
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def request(self, method: str, path: str, *, query: Optional[Mapping[str, object]] = None,
                body: Optional[bytes] = None, accept: Optional[str] = None) -> Response:
        """Sends a request and returns its answer once its head has arrived; an error status raises ResponseError
        with the server's message."""
        target = self._base + path
        if query:
            target += "?" + urllib.parse.urlencode(
                {key: str(value).lower() if isinstance(value, bool) else value for key, value in query.items()})
        headers = dict(self._headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        if accept:
            headers["Accept"] = accept
        for attempt in (0, 1):
            connection, reused = self._take()
            try:
                connection.request(method, target, body=body, headers=headers)
                raw = connection.getresponse()
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                # A kept-alive connection the server closed meanwhile: once more on a new one (every request of
                # this API can be sent twice without harm).
                if reused and attempt == 0 and not isinstance(error, socket.timeout):
                    continue
                raise _transport_error(self.url, error) from None
            response = Response(self, connection, raw)
            if response.status >= 400:
                raise _response_error(response)
            return response
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Closes the idle connections (those in use close when their answers are done)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _take(self) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            if self._pid != os.getpid():
                # A forked child: the parent's sockets are not this process's to use.
                self._idle, self._pid = [], os.getpid()
            if self._idle:
                return self._idle.pop(), True
        if self._scheme == "https":
            connection: http.client.HTTPConnection = http.client.HTTPSConnection(
                self._host, self._port, timeout=self.timeout, context=self._ssl)
        else:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        return connection, False

    def _give_back(self, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            if self._pid == os.getpid() and len(self._idle) < self._max_idle:
                self._idle.append(connection)
                return
        connection.close()


def _transport_error(url: str, error: BaseException) -> Exception:
    if isinstance(error, socket.timeout):
        return TimeoutError(f"{url} did not answer in time: {error}")
    if isinstance(error, ssl.SSLError):
        return ConnectionError(f"cannot talk TLS with {url}: {error}")
    return ConnectionError(f"cannot reach {url}: {error}")


def _response_error(response: Response) -> ResponseError:
    try:
        payload = response.read()
    except Exception:  # noqa: BLE001 - the status is what matters; its body is best effort
        payload = b""
    try:
        message = json.loads(payload)["error"]
    except (ValueError, KeyError, TypeError):
        message = payload.decode("utf-8", "replace") or "(no message)"
    return ResponseError(response.status, str(message))
