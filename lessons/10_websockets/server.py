"""Lesson 10: your lesson-09 server, now with WebSockets (the other half of ASGI).

Start here
----------
This lesson starts from YOUR lesson-09 server, not from a blank file:

    make start-lesson 10

copies lessons/09_production/server.py (and http11.py) over this file, and refuses
if you have already changed lesson 10. Then `make test-lesson 10`: the lesson-09
tests (exercise 10.0) pass at once, and every other failure names the exercise.

    10.0  Carry your lesson-09 server forward (make start-lesson 10); keep its tests green.
    10.1  frames.py: read client frames, build server frames (sans-I/O, like lesson 07).
    10.2  websocket.py: the handshake; and here, the hook that hands a WebSocket
          request's connection to a WebSocketProtocol, and the four ws_* settings
          that WebSocketProtocol reads (below, `# 10.2`).
    10.3  websocket.py: messages, pings, the close handshake, websocket.disconnect.
    10.4  websocket.py: flow control, ws_max_size, keep-alive pings.
    10.5  websocket.py: shut_down() closes with 1012; here, nothing new: the
          WebSocketProtocol joins server.connections, so shutdown and
          limit_concurrency already count it.

What this file adds to lesson 09 (every line is marked `# 10.N`):
- on_headers_complete: a GET with Upgrade: websocket is checked (handshake_refusal:
  426, 400) and, if good, remembered in `self.upgrade` instead of starting a
  RequestCycle;
- feed_past_upgrades: where llhttp stops at the end of that head, the bytes after it
  are kept for the WebSocket (`self.upgrade_data`) and parsing stops for good;
- switch_to_websocket: once the responses owed before it are written, the transport
  gets a WebSocketProtocol (`transport.set_protocol`): from then on asyncio calls it;
- Server: ws_max_size, ws_max_queue, ws_ping_interval, ws_ping_timeout (uvicorn's
  names), and their command-line flags (10.2: WebSocketProtocol reads them from
  the start; 10.4 makes them do their work).

Everything else is lesson 09's, as you wrote it; read websocket.py's header next.
"""

from __future__ import annotations

# TODO: exercise 10.0
raise NotImplementedError("Exercise 10.0: run `make start-lesson 10`: it copies your lesson-09 server here; then add the WebSocket hook (README.md).")
