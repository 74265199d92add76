"""HTTP/1.1 to `w2vcache serve`: kept-alive connections, the bearer token, TLS, and errors turned into the client's
own.

The client speaks the little HTTP it needs itself, on a socket: a request is one `sendall`, an answer's head is
parsed from one buffer, and its body is read straight into the caller's memory. `http.client` parses every answer's
headers with the `email` package, which costs more than the server takes to answer a single vector.
"""

from __future__ import annotations

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

#: The longest answer head accepted (status line and headers).
MAX_HEAD_BYTES = 64 * 1024

#: The largest count an answer's header may state (a length, a number of batches): 2**62, which any arithmetic on it
#: survives.
MAX_COUNT = 1 << 62


def parse_count(text: Optional[str]) -> Optional[int]:
    """`text` as a whole number written in ASCII digits, up to MAX_COUNT; None for anything else (`int()` would take a
    sign, spaces or underscores, and `str.isdigit()` passes digits of other scripts that `int()` then refuses)."""
    if not text or len(text) > 19 or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if value <= MAX_COUNT else None


class _Connection:
    """One socket to the server and the bytes read from it but not yet used."""

    def __init__(self, host: str, port: int, timeout: float, context: Optional[ssl.SSLContext]) -> None:
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = context.wrap_socket(sock, server_hostname=host) if context is not None else sock
        self.buffer = bytearray()

    def fill(self) -> bool:
        """Reads what the socket has into the buffer; False at the end of the stream."""
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        self.buffer += chunk
        return True

    def read_head(self) -> tuple[int, dict[str, str]]:
        """The status and headers (lowercased names) of the next answer."""
        start = 0
        while True:
            end = self.buffer.find(b"\r\n\r\n", start)
            if end >= 0:
                break
            if len(self.buffer) > MAX_HEAD_BYTES:
                raise ProtocolError(f"an answer's head is longer than {MAX_HEAD_BYTES} bytes")
            start = max(0, len(self.buffer) - 3)
            if not self.fill():
                raise http_closed()
        head = bytes(self.buffer[:end]).decode("latin-1")
        del self.buffer[:end + 4]
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        status = parse_count(parts[1]) if len(parts) >= 2 and len(parts[1]) == 3 else None
        if status is None or not parts[0].startswith("HTTP/1."):
            raise ProtocolError(f"the answer starts with {lines[0][:100]!r}, not an HTTP/1.1 status line")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon:
                raise ProtocolError(f"an answer header {line[:100]!r} has no colon")
            name, value = name.strip().lower(), value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        return status, headers

    def readinto(self, view: memoryview) -> int:
        """Up to len(view) bytes, from the buffer first; 0 at the end of the stream."""
        if self.buffer:
            count = min(len(view), len(self.buffer))
            view[:count] = self.buffer[:count]
            del self.buffer[:count]
            return count
        return self.sock.recv_into(view)

    def read_line(self) -> bytes:
        while (end := self.buffer.find(b"\r\n")) < 0:
            if len(self.buffer) > MAX_HEAD_BYTES:
                raise ProtocolError("a chunk size line is too long")
            if not self.fill():
                raise http_closed()
        line = bytes(self.buffer[:end])
        del self.buffer[:end + 2]
        return line

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def http_closed() -> ConnectionError:
    return ConnectionError("the server closed the connection before its answer was complete")


# The longest body read into a buffer of its announced length at once.
_PREALLOCATED_BODY = 64 << 20

#: The longest body `Response.read` takes unless told otherwise: a batch or a matrix is smaller.
MAX_BODY_BYTES = 2 << 30


def _read_promised(connection: _Connection, view: memoryview) -> int:
    """Some of the bytes the server has announced (a chunk's size, a Content-Length): an end before them is an error."""
    count = connection.readinto(view)
    if not count:
        raise http_closed()
    return count


class Response:
    """An answer being read. Its connection goes back to the pool once the body is read to its end; `close()`
    drops it instead (an answer abandoned midway cannot be reused)."""

    def __init__(self, transport: "Transport", connection: _Connection, status: int, headers: dict[str, str],
                 method: str) -> None:
        self._transport = transport
        self._connection: Optional[_Connection] = connection
        self.status = status
        #: The answer's headers, by lowercased name.
        self.headers = headers
        self._will_close = "close" in headers.get("connection", "").lower()
        self._chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        self._chunk_left = 0
        self._done = False
        length = headers.get("content-length")
        #: The body's announced length, or None (a chunked answer).
        self.length: Optional[int] = parse_count(length)
        if length is not None and self.length is None:
            self.close()
            raise ProtocolError(f"the answer's Content-Length is {length!r}, not a number")
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            self.length = 0
        if self.length is None and not self._chunked:
            self._will_close = True  # the body ends when the server closes the connection
        self._left = self.length

    def header(self, name: str) -> Optional[str]:
        return self.headers.get(name.lower())

    def read(self, limit: int = MAX_BODY_BYTES) -> bytearray:
        """The whole body, in a buffer of its own (numpy arrays made on it are writable); the connection is then
        reused. A body announced at up to 64 MB is read into a buffer of that length; a longer one, or one of unknown
        length, grows with the bytes that arrive, so that a Content-Length alone never takes the memory it names. A
        body longer than `limit` bytes (what the call can use) is a ProtocolError, announced or as it arrives."""
        if self._left is not None and self._left > limit:
            self.close()
            raise ProtocolError(f"the answer's body is {self._left} bytes, more than the {limit} expected")
        if self._left is not None and self._left <= _PREALLOCATED_BODY:
            data = bytearray(self._left)
            self.readinto_exactly(memoryview(data))
            self._release()
            return data
        data = bytearray()
        chunk = memoryview(bytearray(65536))
        while count := self._readinto(chunk):
            data += chunk[:count]
            if len(data) > limit:
                self.close()
                raise ProtocolError(f"the answer's body runs past the {limit} bytes expected")
        self._release()
        return data

    def read_at_most(self, limit: int) -> bytes:
        """Up to `limit` bytes of the body; the connection of a longer body is dropped rather than read to its end."""
        data = bytearray(limit + 1)
        view, filled = memoryview(data), 0
        while filled <= limit and (count := self._readinto(view[filled:])):
            filled += count
        if filled > limit:
            self.close()
            return bytes(data[:limit])
        self._release()
        return bytes(data[:filled])

    def read_exactly(self, count: int) -> bytes:
        """`count` bytes of the body, or ConnectionError if it ends first."""
        data = bytearray(count)
        self.readinto_exactly(memoryview(data))
        return bytes(data)

    def readinto_exactly(self, view: memoryview) -> None:
        filled = 0
        while filled < len(view):
            count = self._readinto(view[filled:])
            if not count:
                self.close()
                raise ConnectionError(f"the answer ended early ({filled} of {len(view)} bytes)")
            filled += count

    def finish(self) -> None:
        """Reads what is left of the body (nothing, for a finished stream) and gives the connection back."""
        rest = self._readinto(memoryview(bytearray(1)))
        if rest:
            self.close()
            raise ProtocolError("bytes follow the end of the answer")
        self._release()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _readinto(self, view: memoryview) -> int:
        """Up to len(view) bytes of the body; 0 at its end."""
        connection = self._connection
        if self._done or connection is None or not len(view):
            return 0
        try:
            if self._chunked:
                if self._chunk_left == 0:
                    line = connection.read_line().split(b";")[0].strip()
                    # Hexadecimal digits only: int(line, 16) would also take a sign, "0x" and underscores.
                    if not 0 < len(line) <= 15 or line.strip(b"0123456789abcdefABCDEF"):
                        raise ProtocolError(f"a chunk size {line[:20]!r} is not hexadecimal")
                    self._chunk_left = int(line, 16)
                    if self._chunk_left == 0:
                        while connection.read_line():  # trailers, up to the blank line
                            pass
                        self._done = True
                        return 0
                count = _read_promised(connection, view[:self._chunk_left])
                self._chunk_left -= count
                if self._chunk_left == 0 and connection.read_line():
                    raise ProtocolError("a chunk does not end where its size says")
                return count
            if self._left is not None:
                if self._left == 0:
                    self._done = True
                    return 0
                count = _read_promised(connection, view[:self._left])
                self._left -= count
                return count
            count = connection.readinto(view)
            if not count:
                self._done = True
            return count
        except (ProtocolError, ConnectionError):
            self.close()
            raise
        except (OSError, ssl.SSLError) as error:
            self.close()
            raise _transport_error(self._transport.url, error) from None

    def _release(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            if self._will_close or connection.buffer:
                connection.close()  # nothing may follow an answer before the next request
            else:
                self._transport._give_back(connection)

    def __enter__(self) -> "Response":
        return self

    def __exit__(self, *exception: object) -> None:
        self.close()


class Transport:
    """Kept-alive connections to one server (or load balancer), shared by a client's calls.

    Idle connections wait in a small pool; a call takes one (or opens one) and gives it back once its answer is read,
    so a stream being read and a vector asked meanwhile use two. A process forked from this one, or given it pickled
    (a DataLoader worker), opens its own: sockets are never shared across processes.
    """

    def __init__(self, url: str, *, timeout: float = 60.0, token: Optional[str] = None, ca_file: Optional[str] = None,
                 max_idle: int = 8) -> None:
        try:
            parsed = urllib.parse.urlsplit(url)
            port = parsed.port  # urllib checks it when it is read
        except ValueError as error:  # "Port out of range 0-65535", "Invalid IPv6 URL": which URL, and what is expected
            raise ValueError(f"url {url!r}: {error}; expected http://HOST:PORT or https://HOST:PORT") from None
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"url {url!r}: expected http://HOST:PORT or https://HOST:PORT")
        # Parts of a URL that no request would carry: each was dropped without a word.
        if parsed.query or parsed.fragment or parsed.username is not None:
            raise ValueError(f"url {url!r}: a query, a fragment or user:password@ is not sent; expected "
                             "http://HOST:PORT or https://HOST:PORT, with a path prefix if a proxy adds one "
                             "(a bearer token goes in token=)")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._host = parsed.hostname
        self._port = port or (443 if parsed.scheme == "https" else 80)
        self._base = parsed.path.rstrip("/")
        host_header = self._host if port is None else f"{self._host}:{self._port}"
        if ":" in self._host:
            host_header = f"[{self._host}]" + ("" if port is None else f":{self._port}")
        token = token if token is not None else os.environ.get("W2VCACHE_TOKEN")
        if token is not None and any(c in token for c in "\r\n"):
            raise ValueError("a bearer token cannot hold line breaks")
        self._fixed_headers = f"Host: {host_header}\r\n" + (f"Authorization: Bearer {token}\r\n" if token else "")
        self._ca_file = ca_file
        self._max_idle = max_idle
        self._start(https=parsed.scheme == "https")

    def _start(self, *, https: bool) -> None:
        """What a process holds for itself: the TLS context, the idle connections and their lock."""
        self._ssl = ssl.create_default_context(cafile=self._ca_file) if https else None
        self._idle: list[_Connection] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def __getstate__(self) -> dict[str, object]:
        """The address, timeout and headers, for a process started afresh (a DataLoader worker under spawn or
        forkserver); it opens its own connections."""
        state = self.__dict__.copy()
        for own in ("_ssl", "_idle", "_lock", "_pid"):
            del state[own]
        state["_https"] = self._ssl is not None
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        https = bool(state.pop("_https"))
        self.__dict__.update(state)
        self._start(https=https)

    def request(self, method: str, path: str, *, query: Optional[Mapping[str, object]] = None,
                body: Optional[bytes] = None, accept: Optional[str] = None) -> Response:
        """Sends a request and returns its answer once its head has arrived; an error status raises ResponseError
        with the server's message."""
        target = urllib.parse.quote(self._base + path, safe="/%:@!$&'()*+,;=-._~")
        if query:
            target += "?" + urllib.parse.urlencode(
                {key: str(value).lower() if isinstance(value, bool) else value for key, value in query.items()})
        head = f"{method} {target} HTTP/1.1\r\n{self._fixed_headers}"
        if accept:
            head += f"Accept: {accept}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        message = (head + "\r\n").encode("latin-1") + (body or b"")
        for attempt in (0, 1):
            connection, reused = self._take()
            try:
                connection.sock.sendall(message)
                status, headers = connection.read_head()
            except (OSError, ssl.SSLError, ConnectionError) as error:
                connection.close()
                # A kept-alive connection the server closed meanwhile: once more on a new one (every request of
                # this API can be sent twice without harm).
                if reused and attempt == 0 and not isinstance(error, socket.timeout):
                    continue
                raise error if isinstance(error, ConnectionError) else _transport_error(self.url, error) from None
            except ProtocolError:
                connection.close()
                raise
            response = Response(self, connection, status, headers, method)
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

    def _take(self) -> tuple[_Connection, bool]:
        with self._lock:
            if self._pid != os.getpid():
                # A forked child: the parent's sockets are not this process's to use.
                self._idle, self._pid = [], os.getpid()
            if self._idle:
                return self._idle.pop(), True
        try:
            return _Connection(self._host, self._port, self.timeout, self._ssl), False
        except (OSError, ssl.SSLError) as error:
            raise _transport_error(self.url, error) from None

    def _give_back(self, connection: _Connection) -> None:
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


#: The most of an error answer's body read for its message (the server's messages are at most 4,096 characters).
MAX_ERROR_BYTES = 64 * 1024


def _response_error(response: Response) -> ResponseError:
    try:
        payload = response.read_at_most(MAX_ERROR_BYTES)
    except Exception:  # noqa: BLE001 - the status is what matters; its body is best effort
        payload = b""
    try:
        message = json.loads(payload)["error"]
    except (ValueError, KeyError, TypeError):
        message = payload.decode("utf-8", "replace") or "(no message)"
    return ResponseError(response.status, str(message))
