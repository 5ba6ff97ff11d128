"""Byte-range answers for stored media: without them a browser's video player cannot seek."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO

from django.conf import settings
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK_BYTES = 64 * 1024


def _range_chunks(handle: IO[bytes], start: int, length: int) -> Iterator[bytes]:
    with handle:
        handle.seek(start)
        while length > 0:
            chunk = handle.read(min(CHUNK_BYTES, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk


def file_response_ranged(
    request: HttpRequest, field_file: FieldFile, *, content_type: str, filename: str, as_attachment: bool = False
) -> HttpResponseBase:
    """The whole file (200), or the one byte range the request asks for (206); several ranges get the whole file."""
    size = field_file.size
    match = _RANGE.match(request.headers.get("Range", "").strip())
    if match is None or not any(match.groups()):
        whole = FileResponse(
            field_file.open("rb"), content_type=content_type, as_attachment=as_attachment, filename=filename
        )
        whole["Accept-Ranges"] = "bytes"
        return whole
    first, last = match.groups()
    if first:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    else:
        start, end = max(size - int(last), 0), size - 1
    if start >= size or start > end:
        unsatisfiable = HttpResponse(status=416)
        unsatisfiable["Content-Range"] = f"bytes */{size}"
        return unsatisfiable
    response = StreamingHttpResponse(
        _range_chunks(field_file.open("rb"), start, end - start + 1), status=206, content_type=content_type
    )
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    return response


def public_url(view_name: str, *args: object) -> str:
    """The absolute address of a named route on this site (links in emails, receipts and manifests)."""
    return settings.CANDOR_PUBLIC_URL + reverse(view_name, args=args)
