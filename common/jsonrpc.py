"""A small async Ethereum JSON-RPC client over HTTP with batch requests (orjson, httpx)."""

from __future__ import annotations

import functools
import ssl
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import httpx
import orjson

if TYPE_CHECKING:  # only for annotations
    from common.abi import ContractABI


class RpcError(Exception):
    """The node answered a JSON-RPC error (the request reached it)."""

    def __init__(self, method: str, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{method}: {message} (code {code})")
        self.method = method
        self.code = code
        self.message = message
        self.data = data


class RpcTransportError(Exception):
    """The node could not be reached or answered garbage (HTTP error, timeout, bad JSON)."""


class RpcTimeout(RpcTransportError):
    """No answer within the client's timeout."""


class RpcHttpError(RpcTransportError):
    """An HTTP status other than 200 (429 = rate limited, with its Retry-After seconds)."""

    def __init__(self, message: str, status: int, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class JsonRpcClient:
    def __init__(self, url: str, *, timeout_s: float = 30.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"JSON-RPC URL must be http(s)://, got {url!r}")
        self.url = url
        self._http = httpx.AsyncClient(
            # plain http has nothing to verify: no TLS context (loading the CA bundle cost
            # 50-90 ms of CPU per client at every process start)
            verify=_tls_context() if url.startswith("https://") else False,
            timeout=timeout_s,
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=16),
            headers={"Content-Type": "application/json"},
        )
        self._next_id = 1

    async def call(self, method: str, *params: Any) -> Any:
        payload = {"jsonrpc": "2.0", "id": self._take_ids(1), "method": method, "params": params}
        reply = await self._post(payload)
        if not isinstance(reply, dict):
            raise RpcTransportError(f"{method}: reply is not a JSON object")
        return _result(method, reply)

    async def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Send calls in one HTTP request; results in call order. Any error raises RpcError."""
        results = await self.batch_results(calls)
        for (method, _), res in zip(calls, results, strict=True):
            if isinstance(res, RpcError):
                raise res
            del method
        return results

    async def batch_results(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Like :meth:`batch` but an erroring call yields its RpcError in place of a result."""
        if not calls:
            return []
        first = self._take_ids(len(calls))
        payload = [
            {"jsonrpc": "2.0", "id": first + i, "method": m, "params": list(p)}
            for i, (m, p) in enumerate(calls)
        ]
        reply = await self._post(payload)
        if isinstance(reply, dict):  # some nodes answer a whole-batch error as one object
            err = reply.get("error") or {}
            raise RpcError("batch", int(err.get("code", 0)), str(err.get("message", reply)))
        by_id = {item.get("id"): item for item in reply}
        out: list[Any] = []
        for i, (method, _) in enumerate(calls):
            item = by_id.get(first + i)
            if item is None:
                raise RpcTransportError(
                    f"batch reply lacks the answer to {method} (id {first + i})"
                )
            try:
                out.append(_result(method, item))
            except RpcError as exc:
                out.append(exc)
        return out

    async def close(self) -> None:
        await self._http.aclose()

    def _take_ids(self, n: int) -> int:
        first = self._next_id
        self._next_id += n
        return first

    async def _post(self, payload: Any) -> Any:
        try:
            resp = await self._http.post(self.url, content=orjson.dumps(payload))
        except httpx.TimeoutException as exc:
            raise RpcTimeout(f"{self.url}: timed out ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise RpcTransportError(f"{self.url}: {type(exc).__name__}: {exc}") from exc
        if resp.status_code != 200:
            retry_after = None
            if "retry-after" in resp.headers:
                try:
                    retry_after = float(resp.headers["retry-after"])
                except ValueError:
                    retry_after = None
            raise RpcHttpError(
                f"{self.url}: HTTP {resp.status_code}: {resp.text[:200]}",
                resp.status_code,
                retry_after,
            )
        content = resp.content
        # httpx binds a response's stream back to the response (a reference cycle): cut it, so
        # the reply (megabytes for a range of logs) is freed now, not at the next collection
        resp.stream = httpx.ByteStream(b"")
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            raise RpcTransportError(f"{self.url}: reply is not JSON") from exc


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default verifying context (CA bundle, SSL_CERT_FILE), built once a process."""
    return httpx.create_ssl_context()


def _result(method: str, reply: dict[str, Any]) -> Any:
    if "error" in reply and reply["error"] is not None:
        err = reply["error"]
        raise RpcError(method, int(err.get("code", 0)), str(err.get("message")), err.get("data"))
    return reply.get("result")


async def view_calls(
    rpc: JsonRpcClient,
    to: str,
    abi: ContractABI,
    calls: Sequence[tuple[str, Sequence[Any]]],
    block: int,
    chunk: int = 400,
) -> list[Any]:
    """The decoded results of read-only calls ``(function, args)`` of contract ``to`` at
    ``block``, in order, sent as JSON-RPC batches of ``chunk`` (what the verifiers compare
    the index with); a failing call raises RpcError."""
    tag = hex(block)
    out: list[Any] = []
    for i in range(0, len(calls), chunk):
        part = calls[i : i + chunk]
        raw = await rpc.batch(
            [
                ("eth_call", [{"to": to, "data": abi.encode_call(fn, *args)}, tag])
                for fn, args in part
            ]
        )
        out += [abi.decode_result(fn, r) for (fn, _), r in zip(part, raw, strict=True)]
    return out
