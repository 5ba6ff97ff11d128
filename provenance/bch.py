"""Binary BCH(127, 64) code correcting up to 10 bit errors, with ordered-statistics soft-decision decoding;
pure numpy.
"""

from __future__ import annotations

from functools import cache

import numpy as np

M = 7
N = 2**M - 1
T = 10
# Message length: N minus the generator's degree (63 for t = 10).
K = 64
# x^7 + x^3 + 1, a primitive polynomial of GF(2^7).
_PRIMITIVE = 0b10001001


@cache
def _tables() -> tuple[np.ndarray, np.ndarray]:
    antilog = np.zeros(2 * N, dtype=np.int64)
    log = np.zeros(N + 1, dtype=np.int64)
    value = 1
    for power in range(N):
        antilog[power] = value
        log[value] = power
        value <<= 1
        if value & (1 << M):
            value ^= _PRIMITIVE
    # Doubled so that exponent sums below 2N need no modulo.
    antilog[N:] = antilog[:N]
    return antilog, log


def _mul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    antilog, log = _tables()
    return int(antilog[log[a] + log[b]])


def _inverse(a: int) -> int:
    antilog, log = _tables()
    return int(antilog[(N - log[a]) % N])


@cache
def generator() -> tuple[int, ...]:
    """Coefficients (highest degree first, 0/1) of the code's generator polynomial."""
    antilog, _ = _tables()
    done: set[int] = set()
    # Polynomials over GF(2^7) as lists of field elements, lowest degree first.
    product = [1]
    for root in range(1, 2 * T + 1):
        if root in done:
            continue
        coset = []
        power = root
        while power not in coset:
            coset.append(power)
            power = power * 2 % N
        done.update(coset)
        for power in coset:
            factor = [int(antilog[power]), 1]
            result = [0] * (len(product) + 1)
            for i, coefficient in enumerate(product):
                result[i] ^= _mul(coefficient, factor[0])
                result[i + 1] ^= _mul(coefficient, factor[1])
            product = result
    if any(c not in (0, 1) for c in product):
        raise ArithmeticError("generator polynomial is not binary")
    return tuple(reversed(product))


def encode(message: np.ndarray) -> np.ndarray:
    """The systematic 127-bit codeword (uint8 0/1) of 64 message bits: message, then parity."""
    message = np.asarray(message, dtype=np.uint8)
    if message.shape != (K,):
        raise ValueError(f"expected {K} message bits, got shape {message.shape}")
    poly = np.array(generator(), dtype=np.uint8)
    remainder = np.concatenate([message, np.zeros(N - K, dtype=np.uint8)])
    for index in range(K):
        if remainder[index]:
            remainder[index : index + poly.size] ^= poly
    return np.concatenate([message, remainder[K:]])


def decode(received: np.ndarray) -> tuple[np.ndarray, int] | None:
    """The 64 message bits and the number of corrected errors, or None when more than 10 bits are wrong."""
    received = np.asarray(received, dtype=np.uint8)
    if received.shape != (N,):
        raise ValueError(f"expected {N} code bits, got shape {received.shape}")
    antilog, log = _tables()
    # Bit j is the coefficient of x^(N-1-j).
    powers = N - 1 - np.flatnonzero(received)
    roots = np.arange(1, 2 * T + 1)
    syndromes = np.zeros(2 * T + 1, dtype=np.int64)
    if powers.size:
        terms = antilog[(roots[:, None] * powers[None, :]) % N]
        syndromes[1:] = np.bitwise_xor.reduce(terms, axis=1)
    if not syndromes.any():
        return received[:K].copy(), 0

    # Berlekamp-Massey over GF(2^7): the shortest error locator matching the syndromes.
    locator = [1] + [0] * (2 * T)
    previous = [1] + [0] * (2 * T)
    length, shift, last_discrepancy = 0, 1, 1
    for step in range(2 * T):
        discrepancy = syndromes[step + 1]
        for i in range(1, length + 1):
            discrepancy ^= _mul(locator[i], int(syndromes[step + 1 - i]))
        if discrepancy == 0:
            shift += 1
            continue
        scale = _mul(int(discrepancy), _inverse(last_discrepancy))
        updated = locator.copy()
        for i in range(2 * T + 1 - shift):
            updated[i + shift] ^= _mul(scale, previous[i])
        if 2 * length <= step:
            previous, length, last_discrepancy, shift = locator, step + 1 - length, int(discrepancy), 1
        else:
            shift += 1
        locator = updated
    if length > T:
        return None

    # Chien search: x^p is in error where the locator vanishes at alpha^(-p).
    coefficients = np.array(locator[: length + 1], dtype=np.int64)
    candidates = np.arange(N)
    values = np.zeros(N, dtype=np.int64)
    for degree, coefficient in enumerate(coefficients):
        if coefficient:
            values ^= antilog[(log[coefficient] + (-degree * candidates) % N) % N]
    error_powers = candidates[values == 0]
    if error_powers.size != length:
        return None
    corrected = received.copy()
    corrected[N - 1 - error_powers] ^= 1
    return corrected[:K].copy(), int(length)


@cache
def _generator_matrix() -> np.ndarray:
    """(K, N) systematic generator: row i is the codeword of the i-th unit message."""
    return np.stack([encode(row) for row in np.eye(K, dtype=np.uint8)])


def decode_soft(soft: np.ndarray, *, order: int = 3) -> tuple[np.ndarray, int]:
    """Ordered-statistics decoding of soft bit values (positive = 1): the most likely message.

    Trusts the K most reliable independent positions, re-encodes them with up to
    ``order`` (at most 3) of them flipped, and keeps the codeword closest to the
    soft values. It always answers, so callers must authenticate the message
    (Candor's MAC does). Returns the message and its codeword's Hamming distance
    to the hard decisions.
    """
    if not 0 <= order <= 3:
        raise ValueError(f"order must be 0 to 3, got {order}")
    soft = np.asarray(soft, dtype=np.float64)
    if soft.shape != (N,):
        raise ValueError(f"expected {N} soft values, got shape {soft.shape}")
    hard = (soft > 0).astype(np.uint8)
    reliability = np.abs(soft)
    by_reliability = np.argsort(-reliability, kind="stable")
    matrix = _generator_matrix()[:, by_reliability].copy()
    # Gaussian elimination over GF(2), taking pivot columns in order of reliability.
    pivots: list[int] = []
    row = 0
    for column in range(N):
        if row == K:
            break
        candidates = np.flatnonzero(matrix[row:, column]) + row
        if candidates.size == 0:
            continue
        pivot = candidates[0]
        matrix[[row, pivot]] = matrix[[pivot, row]]
        others = np.flatnonzero(matrix[:, column])
        others = others[others != row]
        matrix[others] ^= matrix[row]
        pivots.append(column)
        row += 1
    basis = np.array(pivots)
    ordered_hard = hard[by_reliability]
    base = (ordered_hard[basis] @ matrix) % 2
    # A candidate's score is the reliability of the positions where it agrees with
    # the hard decisions minus where it disagrees. Flipping basis row i multiplies
    # position j's sign by sign_rows[i, j], so the scores of all flip sets of one
    # size are matrix products (order 3 is one K x K product per third row).
    weights = reliability[by_reliability] * (1.0 - 2.0 * (base ^ ordered_hard))
    sign_rows = 1.0 - 2.0 * matrix
    best_flips: tuple[int, ...]
    best_score, best_flips = float(weights.sum()), ()
    if order >= 1:
        singles = sign_rows @ weights
        first = int(np.argmax(singles))
        if singles[first] > best_score:
            best_score, best_flips = float(singles[first]), (int(first),)
    if order >= 2:
        pairs = (sign_rows * weights) @ sign_rows.T
        np.fill_diagonal(pairs, -np.inf)
        first, second = (int(i) for i in np.unravel_index(int(np.argmax(pairs)), pairs.shape))
        if pairs[first, second] > best_score:
            best_score, best_flips = float(pairs[first, second]), (int(first), int(second))
    if order >= 3:
        for third in range(K):
            triples = (sign_rows * (sign_rows[third] * weights)) @ sign_rows.T
            triples[third, :] = -np.inf
            triples[:, third] = -np.inf
            np.fill_diagonal(triples, -np.inf)
            first, second = (int(i) for i in np.unravel_index(int(np.argmax(triples)), triples.shape))
            if triples[first, second] > best_score:
                best_score, best_flips = float(triples[first, second]), (int(first), int(second), third)
    chosen = base.copy()
    flip: int
    for flip in best_flips:
        chosen ^= matrix[flip]
    codeword = np.empty(N, dtype=np.uint8)
    codeword[by_reliability] = chosen
    return codeword[:K].copy(), int(np.count_nonzero(chosen != ordered_hard))
