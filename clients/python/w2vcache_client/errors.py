"""The exceptions the client raises: every failure is a `W2VCacheError`."""

from __future__ import annotations

__all__ = ["W2VCacheError", "ConnectionError", "TimeoutError", "ResponseError", "ProtocolError", "FingerprintMismatch"]


class W2VCacheError(Exception):
    """Any failure of a w2vcache client call."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConnectionError(W2VCacheError):  # noqa: A001 - the client's own, under its own name
    """The server could not be reached, or the connection broke."""


class TimeoutError(W2VCacheError):  # noqa: A001
    """The server did not answer within the client's timeout."""


class ResponseError(W2VCacheError):
    """The server answered with an error status, and said why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message

    def __reduce__(self) -> tuple[type, tuple[int, str]]:
        # Pickled whole (a multiprocessing pool's or a DataLoader worker's failure): the status too.
        return type(self), (self.status, self.message)


class ProtocolError(W2VCacheError):
    """The server's answer broke its own promises: a short or repeated epoch, a frame longer than the answer, an
    array header whose shape does not fit its bytes, a body of the wrong length."""


class FingerprintMismatch(W2VCacheError):
    """A resumed epoch reached a server that serves other data than the one it began on."""

    def __init__(self, message: str, expected: str | None, found: str | None) -> None:
        super().__init__(message)
        self.expected = expected
        self.found = found

    def __reduce__(self) -> tuple[type, tuple[str, str | None, str | None]]:
        return type(self), (self.message, self.expected, self.found)
