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


# The C2PA box is a `uuid` box with this extended type; after it: version and flags (4 bytes), the purpose
# ("manifest\0") and an 8-byte offset, then the manifest store itself (JUMBF).
C2PA_UUID = bytes.fromhex("d8fec3d61b0e483c92975828877ec481")


def c2pa_manifest_store(data: bytes) -> bytes:
    """The manifest store (JUMBF) an MP4 embeds, byte for byte."""
    start, size = top_level_box(data, b"uuid")
    if data[start + 8 : start + 24] != C2PA_UUID or data[start + 28 : start + 37] != b"manifest\0":
        raise LookupError("the first uuid box is not a C2PA manifest box")
    return data[start + 45 : start + size]
