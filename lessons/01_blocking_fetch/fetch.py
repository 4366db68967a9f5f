"""Lesson 01 smoke."""


def build_request(host: str, path: str = "/") -> bytes:
    """A GET request."""
    # TODO: exercise 1.1
    raise NotImplementedError("Exercise 1.1: return the request line, the Host and Connection: close headers and a blank line, all ending in CRLF.")
