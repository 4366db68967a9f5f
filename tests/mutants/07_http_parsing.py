"""Lesson 07 mistakes the tests must catch (see course/mutants.py)."""

MUTANTS = {
    # 7.1 split_target
    "path not percent-decoded": [('path = unquote_to_bytes(raw_path).decode("utf-8", errors="replace")',
                                  'path = raw_path.decode("ascii")')],
    "path decoded as latin-1, not UTF-8": [('decode("utf-8", errors="replace")', 'decode("latin-1")')],
    "query string decoded": [('return path, raw_path, url.query or b""',
                              'return path, raw_path, unquote_to_bytes(url.query or b"")')],
    "absolute form without a path gives an empty path": [('raw_path = b"/"  #', 'raw_path = b""  #')],
    "path decoded strictly: /%FF raises": [('decode("utf-8", errors="replace")', 'decode("utf-8")')],
    # 7.2 check_head
    "HTTP version not checked": [('if http_version not in ("1.0", "1.1"):', "if False:")],
    "Host not required once": [('if http_version == "1.1" and len(hosts) != 1:', "if False:")],
    "Transfer-Encoding accepted in HTTP/1.0": [('if codings and http_version == "1.0":', "if False:")],
    "Content-Length with Transfer-Encoding accepted": [("if codings and lengths:", "if False:")],
    "codings other than chunked accepted": [
        ('if codings and [coding.strip().lower() for coding in codings] != [b"chunked"]:', "if False:")],
    "several Content-Lengths accepted": [("if len(lengths) > 1:", "if False:")],
    "Content-Length not checked as a number": [("if lengths and not lengths[0].isdigit():", "if False:")],
    "chunked compared case-sensitively": [("[coding.strip().lower() for coding in codings]",
                                           "[coding.strip() for coding in codings]")],
    "unknown coding checked before Content-Length with Transfer-Encoding": [
        ('    if codings and lengths:\n        raise BadRequest("both Content-Length and Transfer-Encoding: '
         'the body could be framed two ways")\n', ""),
        ("    if len(lengths) > 1:\n",
         '    if codings and lengths:\n        raise BadRequest("both Content-Length and Transfer-Encoding: '
         'the body could be framed two ways")\n    if len(lengths) > 1:\n')],
    "Host checked before the version": [
        ('    if http_version not in ("1.0", "1.1"):\n', '    if http_version != "1.0" and len([name for name, _ in '
         'headers if name == b"host"]) != 1:\n        raise BadRequest("Host")\n    if http_version not in ("1.0", "1.1"):\n')],
    "wrong status hint for an unknown coding": [("only 'chunked' is implemented\", status=501)",
                                                 "only 'chunked' is implemented\")")],
    # 7.3 RequestParser
    "header names not lower-cased": [("self._headers.append((name.lower(), value.strip(b\" \\t\")))",
                                      "self._headers.append((name, value.strip(b\" \\t\")))")],
    "header values not trimmed": [("self._headers.append((name.lower(), value.strip(b\" \\t\")))",
                                   "self._headers.append((name.lower(), value))")],
    "target pieces not joined": [("self._target += url", "self._target = url")],
    "headers not reset between requests": [("        self._target = b\"\"\n        self._headers = []\n",
                                            "        self._target = b\"\"\n")],
    "state shared by every parser": [
        ("HEAD_STATES = (", "SHARED_HEADERS: Headers = []\nHEAD_STATES = ("),
        ("        self._target = b\"\"\n        self._headers = []\n",
         "        self._target = b\"\"\n        self._headers = SHARED_HEADERS\n        SHARED_HEADERS.clear()\n")],
    "httptools errors not turned into BadRequest": [('raise BadRequest(f"malformed request: {error}") from None',
                                                     "raise")],
    "check_head not called": [("        check_head(http_version, self._headers)\n", "")],
    "no head limit": [("size -= self._head_bytes", "pass")],
    "head limit with the wrong status": [("is over {self.max_header_bytes} bytes\", status=431)",
                                          "is over {self.max_header_bytes} bytes\")")],
    "parser usable again after BadRequest": [("            self.state = State.FAILED\n", "")],
    "later feed() not refused after the parser's own 431": [
        ('        if self.state is State.FAILED:\n            raise BadRequest("this connection already sent a bad '
         'request; close it")\n', "")],
    "every callback error made a 400 (505 and 501 lost)": [("raise (error.__context__ or error) from None",
                                                           'raise BadRequest(f"bad request: {error}") from None')],
    "an incomplete head handed to httptools whole": [
        ("return view[:size], view[size:]",
         'return (view[:size], view[size:]) if b"\\r\\n\\r\\n" in bytes(view) else (view, view[len(view):])')],
    "body held until the end of the message": [("        self._flush_body()\n        events, self._events",
                                                "        events, self._events")],
    "keep_alive always true": [("keep_alive=self._httptools.should_keep_alive(),", "keep_alive=True,")],
    "Expect honoured on HTTP/1.0": [('expect_continue=http_version == "1.1" and b"100-continue" in expect',
                                     'expect_continue=b"100-continue" in expect')],
    "Expect compared case-sensitively": [("expect = [value.lower() for name", "expect = [value for name")],
    "method left as bytes": [('method=self._httptools.get_method().decode("ascii"),',
                              "method=self._httptools.get_method(),")],
    "bytes after Connection: close raise": [("                if self.state is State.MUST_CLOSE:\n",
                                             "                if False:\n")],
    "Upgrade request refused": [("piece = piece[upgrade.args[0]:]", 'raise BadRequest("upgrade")')],
    "Upgrade request with a body accepted": [("if self._httptools.should_upgrade() and self._declares_body():",
                                              "if False:")],
    # 7.4 build_scope
    "scope without raw_path": [('        "raw_path": root_path.encode("utf-8") + request.raw_path,\n', "")],
    "scope without spec_version": [('"spec_version": ASGI_SPEC_VERSION', '"spec": ASGI_SPEC_VERSION')],
    "spec_version 2.3, unlike lessons 08 and 09": [('ASGI_SPEC_VERSION = "2.4"', 'ASGI_SPEC_VERSION = "2.3"')],
    "root_path not in front of path": [('"path": root_path + request.path,', '"path": request.path,')],
    "scheme ignored": [('"scheme": scheme,', '"scheme": "http",')],
    "headers as a dict": [('"headers": [(name, value) for name, value in request.headers],',
                           '"headers": dict(request.headers),')],
    "client None replaced": [('"client": tuple(client) if client is not None else None,',
                              '"client": tuple(client) if client is not None else ("", 0),')],
    # 7.5 response_head
    "OK for every status": [('HTTPStatus(status).phrase.encode("ascii")', 'b"OK"')],
    "HTTPStatus(status) for a code it does not know": [
        ('return b"HTTP/1.1 %d \\r\\n" % status', 'return b"HTTP/1.1 %d %s\\r\\n" % (status, HTTPStatus(status).phrase.encode())')],
    "OK for unknown statuses": [('return b"HTTP/1.1 %d \\r\\n" % status', 'return b"HTTP/1.1 %d OK\\r\\n" % status')],
    "CR/LF/NUL allowed in values": [("if FORBIDDEN_IN_VALUE.search(value_bytes):", "if False:")],
    "header names not checked": [("if not TOKEN.fullmatch(name_bytes):", "if False:")],
    "status range not checked": [("or not 100 <= status <= 599", "or False")],
    "no blank line after the headers": [('    lines.append(b"\\r\\n")\n    return b"".join(lines)',
                                         '    return b"".join(lines)')],
    # 7.6 chunk
    "chunk(b'') ends the body": [('    if not data:\n        return b""\n', "")],
    "chunk size in decimal": [('b"%x\\r\\n" % len(data)', 'b"%d\\r\\n" % len(data)')],
    "no CRLF after the chunk data": [('bytes(data) + b"\\r\\n"', "bytes(data)")],
}
