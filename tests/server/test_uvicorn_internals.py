"""The uvicorn internals `mcprt.server.limits` overrides and reads are still there.

`LimitedHTTPProtocol` subclasses uvicorn's `HttpToolsProtocol` and relies on names uvicorn does not
promise (pyproject pins `uvicorn>=0.34` without an upper bound): its parser callbacks, `send_400_response`
called from `data_received`'s `except httptools.HttpParserError`, the protocol's `cycle`/`scope`/`url`,
and the cycle's `response_started`/`response_complete`/`disconnected`/`more_body`/`message_event`. A
release that renames one would make the limits silently do nothing or answer nothing; this fails first.
"""

from __future__ import annotations

import inspect

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle


def test_the_protocol_methods_the_limits_override_exist() -> None:
    for name in ("connection_made", "connection_lost", "data_received", "on_message_begin", "on_url",
                 "on_headers_complete", "on_message_complete", "on_response_complete", "send_400_response",
                 "timeout_keep_alive_handler"):
        assert callable(getattr(HttpToolsProtocol, name, None)), f"uvicorn's HttpToolsProtocol has no {name}"


def test_a_parser_error_still_reaches_send_400_response_with_the_error_current() -> None:
    received = inspect.getsource(HttpToolsProtocol.data_received)
    assert "except httptools.HttpParserError" in received and "send_400_response" in received, received


def test_the_protocol_and_cycle_attributes_read_are_still_set() -> None:
    protocol = inspect.getsource(HttpToolsProtocol)
    for attribute in ("self.cycle", "self.scope", "self.url", "self.timeout_keep_alive_task", "self.connections",
                      "self.transport"):
        assert f"{attribute} =" in protocol, f"uvicorn's HttpToolsProtocol no longer sets {attribute}"
    cycle = inspect.getsource(RequestResponseCycle.__init__)
    for attribute in ("scope", "response_started", "response_complete", "disconnected", "more_body",
                      "message_event"):
        assert f"self.{attribute} =" in cycle, f"uvicorn's RequestResponseCycle no longer sets {attribute}"
