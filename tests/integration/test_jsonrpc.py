"""The JSON-RPC client against a real anvil."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import httpx

from common.jsonrpc import JsonRpcClient


async def test_a_reply_is_freed_when_the_call_returns(anvil_url: str) -> None:
    """Reference counting alone frees each HTTP response (a range of logs is megabytes): with
    the collector off, nothing may keep one alive after its call returns. httpx ties a
    response and its stream into a cycle, which the client cuts."""
    rpc = JsonRpcClient(anvil_url)
    responses: list[weakref.ref[httpx.Response]] = []
    post = rpc._http.post

    async def watched(*args: Any, **kwargs: Any) -> httpx.Response:
        resp = await post(*args, **kwargs)
        responses.append(weakref.ref(resp))
        return resp

    rpc._http.post = watched  # type: ignore[method-assign]
    gc.collect()
    gc.disable()
    try:
        assert int(await rpc.call("eth_chainId"), 16) > 0
        assert len(await rpc.batch([("eth_blockNumber", []), ("eth_chainId", [])])) == 2
        assert len(responses) == 2
        assert [r() for r in responses] == [None, None]
    finally:
        gc.enable()
        await rpc.close()


def test_plain_http_needs_no_tls_context() -> None:
    """A client of an http:// node builds no verifying TLS context (the CA bundle's load was
    most of a client's start-up); an https:// one verifies, with one context per process."""
    plain = JsonRpcClient("http://127.0.0.1:1")
    a, b = JsonRpcClient("https://a.invalid"), JsonRpcClient("https://b.invalid")

    def context(c: JsonRpcClient) -> Any:
        return c._http._transport._pool._ssl_context  # type: ignore[attr-defined]

    assert context(a) is context(b)
    assert context(a).verify_mode.name == "CERT_REQUIRED"
    assert context(plain).verify_mode.name == "CERT_NONE"
