"""The made-up CloudTrail signing keys of generated trails: one RSA-2048 key pair per region.

AWS signs digests with a private key per region that nobody outside AWS holds. A generated trail needs
keys that (1) verify with the public key shipped beside the digests, (2) give byte-identical files
for the same seed, and (3) put no private key in the repository (pre-commit's ``detect-private-key``).
So the key is *derived*, never stored: each prime is the first one at or after a ``random.Random``
number seeded by a label naming the region (trial division, then Miller–Rabin), and ``cryptography``
builds the key from those numbers. ``_HINTS`` caches how far each search goes, so a run checks instead
of searching. Anyone can derive it again: these keys prove only
that the files match what the generator wrote, which is all a training sample needs.

PKCS#1 v1.5 signatures are deterministic for a given key, so the digests stay byte-identical.

Example:
    >>> key = region_key("us-east-1")
    >>> key.key_size, region_key("us-east-1") is key
    (2048, True)
"""

from __future__ import annotations

import functools
import math
import random

from cryptography.hazmat.primitives.asymmetric import rsa

_E = 65537
_BITS = 2048
_SMALL_PRIMES = tuple(p for p in range(3, 2000, 2) if all(p % d for d in range(3, math.isqrt(p) + 1, 2)))
_LABEL = "ircreds synthetic CloudTrail digest key"
_BASES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)
#: How many steps of 2 each region's search takes to its two primes (a cache of :func:`_search`, so a
#: run checks one Miller–Rabin round per prime instead of searching; a region not listed is searched).
_HINTS: dict[str, tuple[int, int]] = {
    "ap-northeast-1": (106, 414),
    "ap-south-1": (77, 203),
    "ap-southeast-1": (460, 49),
    "ap-southeast-2": (228, 787),
    "ca-central-1": (314, 346),
    "eu-central-1": (84, 50),
    "eu-north-1": (340, 318),
    "eu-west-1": (248, 464),
    "eu-west-2": (7, 625),
    "sa-east-1": (643, 73),
    "us-east-1": (69, 522),
    "us-east-2": (81, 35),
    "us-west-1": (459, 106),
    "us-west-2": (280, 36),
}


def is_probable_prime(n: int, bases: tuple[int, ...] = _BASES) -> bool:
    """Miller–Rabin with fixed ``bases`` after trial division (candidates here are random, not adversarial).

    Example:
        >>> [n for n in range(2, 30) if is_probable_prime(n)]
        [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]
    """
    if n < 2:
        return False
    for p in (2, *_SMALL_PRIMES):
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d //= 2
        s += 1
    for a in bases:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _start(rng: random.Random, bits: int) -> int:
    # top two bits set so that p*q has exactly 2*bits bits; odd
    return rng.getrandbits(bits) | (3 << (bits - 2)) | 1


def _search(n: int) -> int:
    """Steps of 2 from ``n`` to the first prime p with p-1 prime to e."""
    steps = 0
    while not (n % _E != 1 and is_probable_prime(n)):
        n += 2
        steps += 1
    return steps


def _prime(rng: random.Random, bits: int, hint: int | None) -> int:
    n = _start(rng, bits)
    if hint is not None:
        p = n + 2 * hint
        if p % _E != 1 and is_probable_prime(p, bases=(2,)):
            return p
    return n + 2 * _search(n)


@functools.lru_cache(maxsize=64)
def region_key(region: str) -> rsa.RSAPrivateKey:
    """The derived signing key of ``region`` (the same in every process and every run)."""
    rng = random.Random(f"{_LABEL}:{region}")
    hint_p, hint_q = _HINTS.get(region, (None, None))
    p = _prime(rng, _BITS // 2, hint_p)
    q = _prime(rng, _BITS // 2, hint_q)
    p, q = max(p, q), min(p, q)
    d = pow(_E, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p=p,
        q=q,
        d=d,
        dmp1=rsa.rsa_crt_dmp1(d, p),
        dmq1=rsa.rsa_crt_dmq1(d, q),
        iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(_E, p * q),
    )
    return numbers.private_key(unsafe_skip_rsa_key_validation=True)  # p, q checked above
