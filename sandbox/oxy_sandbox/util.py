"""Values every backend stamps on what it creates: timestamps and ids, in DigitalOcean's formats."""

from __future__ import annotations

import datetime as dt
import uuid


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_uuid() -> str:
    return str(uuid.uuid4())
