"""One JSON error shape for every failure: ``{"error": {"code", "message", "field"}}``.

gRPC status codes map to HTTP explicitly; a stack trace never reaches a client.
"""

from __future__ import annotations

from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from common.logging import get_logger
from common.validation import InvalidInput

log = get_logger(__name__)

GRPC_TO_HTTP = {
    grpc.StatusCode.INVALID_ARGUMENT: (400, "invalid_argument"),
    grpc.StatusCode.OUT_OF_RANGE: (400, "out_of_range"),
    grpc.StatusCode.NOT_FOUND: (404, "not_found"),
    grpc.StatusCode.ALREADY_EXISTS: (409, "already_exists"),
    grpc.StatusCode.FAILED_PRECONDITION: (412, "failed_precondition"),
    grpc.StatusCode.PERMISSION_DENIED: (403, "permission_denied"),
    grpc.StatusCode.UNAUTHENTICATED: (401, "unauthenticated"),
    # a gRPC limit (an answer above the channel's largest), never the client's request rate:
    # a 429 would have the client retry what can only fail again
    grpc.StatusCode.RESOURCE_EXHAUSTED: (503, "resource_exhausted"),
    grpc.StatusCode.UNAVAILABLE: (503, "unavailable"),
    grpc.StatusCode.DEADLINE_EXCEEDED: (504, "deadline_exceeded"),
    grpc.StatusCode.UNIMPLEMENTED: (501, "unimplemented"),
    grpc.StatusCode.CANCELLED: (499, "cancelled"),
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}


def error_body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "field": field}}


def from_grpc(exc: grpc.aio.AioRpcError, service: str) -> ApiError:
    status, code = GRPC_TO_HTTP.get(exc.code(), (502, "upstream_error"))
    details = exc.details() or exc.code().name
    if status >= 500:
        details = f"{service} is unavailable" if code == "unavailable" else f"{service}: {details}"
    field = None
    if status == 400 and ":" in details:
        field = details.split(":", 1)[0].strip() or None
    return ApiError(status, code, details, field)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message, exc.field), exc.status, headers=exc.headers
        )

    @app.exception_handler(InvalidInput)
    async def invalid_input(_: Request, exc: InvalidInput) -> JSONResponse:
        return JSONResponse(error_body("invalid_argument", str(exc), exc.field), 400)

    @app.exception_handler(RequestValidationError)
    async def validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        field, message = _validation_message(first)
        return JSONResponse(error_body("invalid_argument", message, field), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == UNPARSED_BODY:  # FastAPI's, e.g. on a
            # RecursionError of JSON nested thousands deep: name the body, as other bad bodies
            message = "body: could not be parsed as JSON (nested too deeply?)"
            return JSONResponse(error_body("invalid_argument", message, "body"), 400)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(exc.detail)),
            exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception(
            "unhandled error",
            path=request.url.path,
            request_id=request.headers.get("x-request-id", ""),
        )
        return JSONResponse(error_body("internal", "internal error; see the gateway log"), 500)


UNPARSED_BODY = "There was an error parsing the body"


def _validation_message(error: Any) -> tuple[str | None, str]:
    """The field and message of FastAPI's first validation error, in this API's words: the
    body itself when it is missing, not JSON or not an object (pydantic names no field, or the
    character where the JSON broke), and "unknown field" for a key a body does not take."""
    raw = tuple(error.get("loc", ()))
    kind = error.get("type", "")
    msg = str(error.get("msg", "invalid input"))
    if raw[:1] == ("body",):
        if kind == "json_invalid":
            at = f" at character {raw[1]}" if len(raw) > 1 else ""
            reason = (error.get("ctx") or {}).get("error", msg)
            return "body", f"body: not valid JSON{at}: {reason}"
        if len(raw) == 1:
            return "body", "body: a JSON object is required (Content-Type: application/json)"
    loc = [str(x) for x in raw if x not in ("query", "path", "body")]
    field = ".".join(loc) or None
    if kind == "extra_forbidden":
        msg = "unknown field"
    return field, f"{field}: {msg}" if field else msg
