"""Whether a live capture's media arrived at the pace it was recorded, and where the server's clock sits in its media.

Chunk k arrives s_k seconds after chunk 0 and completes media up to e_k seconds. A camera streamed as it records gives
s_k - e_k about constant (the upload's delay). A file streamed faster than it plays makes the difference fall; a
stream held back, to prepare what the next chunks show after a prompt was seen, makes it grow. The smallest difference
is the offset between the two clocks; every other chunk may lag it by at most MAX_HOLD_S, so a prompt revealed at
server second r cannot be seen before media second r - offset.
"""

from __future__ import annotations

from dataclasses import dataclass

# Upload jitter on a slow network stays within a few hundred milliseconds, but a loaded computer stalls its browser's
# encoder and uploads for longer: Chromium on a 2-core machine at a load of 10-17 held genuine chunks back by up to
# 1.8 s. More than this is a stream held back. It is also the most time a stream can win to prepare an answer.
MAX_HOLD_S = 1.5


@dataclass(frozen=True)
class Pace:
    offset_s: float  # the smallest (arrival - media end) over the chunks: server second = media second + offset
    worst_hold_s: float  # the most any chunk arrived later than that
    media_s: float  # media time the stream reached
    passed: bool

    def as_record(self) -> dict:
        return {
            "offset_s": round(self.offset_s, 3),
            "worst_hold_s": round(self.worst_hold_s, 3),
            "media_s": round(self.media_s, 3),
            "passed": self.passed,
        }

    def media_time(self, server_s: float) -> float:
        """The earliest media second at which something the server revealed at `server_s` could have been seen."""
        return server_s - self.offset_s


def capture_pace(packet_ends: list[tuple[int, float]], arrivals: list[tuple[int, float]]) -> Pace:
    """The pace of a stream from its packets ((byte just past, media end second), file order) and its chunks'
    arrivals ((bytes received so far, arrival second after chunk 0), in order).

    Chunks that complete no packet yet (a header) say nothing and are skipped. The last chunk does not set the offset:
    a recorder that stops sends what it holds at once, ahead of its usual pace.
    """
    differences = []
    reached = float("-inf")
    packet = 0
    for byte_end, arrival_s in arrivals:
        while packet < len(packet_ends) and packet_ends[packet][0] <= byte_end:
            reached = max(reached, packet_ends[packet][1])
            packet += 1
        if reached > float("-inf"):
            differences.append(arrival_s - reached)
    if not differences:
        return Pace(offset_s=0.0, worst_hold_s=float("inf"), media_s=0.0, passed=False)
    offset = min(differences[:-1] or differences)
    worst = max(differences) - offset
    return Pace(offset_s=offset, worst_hold_s=worst, media_s=max(reached, 0.0), passed=worst <= MAX_HOLD_S)
