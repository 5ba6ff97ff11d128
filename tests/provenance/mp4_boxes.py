"""Finding top-level MP4 boxes in raw bytes, for tests that tamper with a file's media data or manifest."""


def top_level_box(data: bytes, box_type: bytes) -> tuple[int, int]:
    """(offset, size) of the first top-level box of this type; LookupError when there is none."""
    offset = 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        if data[offset + 4 : offset + 8] == box_type:
            return offset, size
        offset += size
    raise LookupError(box_type)
