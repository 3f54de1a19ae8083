"""What every route module shares: the sandbox of the request and the public view of a stored object."""

from __future__ import annotations

from fastapi import Request

from ..core import Sandbox
from ..store import public


def sandbox(request: Request) -> Sandbox:
    return request.app.state.sandbox


def view(obj: dict) -> dict:
    return public(obj)


def bearer(request: Request) -> str:
    return request.headers.get("authorization", "")[7:].strip()
