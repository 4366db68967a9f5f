"""Lesson 01 smoke."""


def build_request(host: str, path: str = "/") -> bytes:
    """A GET request."""
    # EXERCISE 1.1: return the request line, the Host and Connection: close headers and a blank line, all ending in CRLF.
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode("ascii")
    # END EXERCISE
