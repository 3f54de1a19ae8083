"""Errors answered the way DigitalOcean does: ``{"id", "message", "request_id"}`` with its status."""

from __future__ import annotations

ERROR_IDS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    415: "unsupported_media_type",
    422: "unprocessable_entity",
    429: "too_many_requests",
    500: "server_error",
    501: "not_implemented",
    503: "service_unavailable",
}
NOT_FOUND = "The resource you were accessing could not be found."


class APIError(Exception):
    """An error answered the way DigitalOcean does: ``{"id", "message", "request_id"}``."""

    def __init__(self, status: int, message: str, error_id: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_id = error_id or ERROR_IDS.get(status, "error")


def not_found() -> APIError:
    return APIError(404, NOT_FOUND)


def unprocessable(message: str) -> APIError:
    return APIError(422, message)
