"""The tiny request/response types every route handler speaks.

Handlers return plain JSON-able data plus a note of where the page's records and cursor live, so
the fault layer can corrupt records or repeat a page without knowing any endpoint.
"""

from __future__ import annotations

from urllib.parse import parse_qs


class Req:
    __slots__ = ("path", "query", "body", "now", "method")

    def __init__(self, method: str, path: str, qs: str, body: bytes, now: float) -> None:
        self.method, self.path, self.body, self.now = method, path, body, now
        self.query = parse_qs(qs, keep_blank_values=True)

    def q(self, name: str, default: str | None = None) -> str | None:
        v = self.query.get(name)
        return v[-1] if v else default

    def qlist(self, name: str) -> list[str]:
        """Repeatable and/or comma-separated parameter values."""
        out: list[str] = []
        for v in self.query.get(name, []):
            out.extend(x for x in v.split(",") if x)
        return out

    def qbool(self, name: str, default: bool = False) -> bool:
        v = self.q(name)
        return default if v is None else v.lower() in ("true", "1", "yes")


class Reply:
    __slots__ = ("status", "body", "headers", "records", "cursor_field", "req_cursor", "sort_keys",
                 "raw")

    def __init__(self, status: int, body, headers: dict | None = None, records: str | None = None,
                 cursor_field: str | None = None, req_cursor: str | None = None,
                 sort_keys: bool = False, raw: bytes | None = None) -> None:
        self.status, self.body, self.headers = status, body, headers or {}
        # records: key of the record list in body ("" = body itself is the list)
        self.records, self.cursor_field, self.req_cursor = records, cursor_field, req_cursor
        self.sort_keys, self.raw = sort_keys, raw


class BadRequest(Exception):
    """Raised by handlers to answer an error with a platform-shaped body."""

    def __init__(self, status: int, body) -> None:
        super().__init__(status)
        self.status, self.body = status, body


def int_param(req: Req, name: str, default: int | None, err) -> int | None:
    v = req.q(name)
    if v is None or v == "":
        return default
    try:
        return int(v)
    except ValueError:
        raise err from None
