# cython: language_level=3, freethreading_compatible=True, annotation_typing=False
# cython: embedsignature=True, embedsignature.format=python
#
# Compiled twin of fastsession/_signing_py.py (the specification): cookie-signature
# 1.0.7 signing, value + "." + unpadded base64(HMAC-SHA256(secret, utf8(value))).
# tests/test_signing.py and tests/test_kernel_properties.py hold the twins equal;
# tests/test_sha256.py holds the hash itself to the NIST and RFC 4231 vectors and to
# hashlib/hmac, on each compression.
#
# Invariants:
# - A Signer holds one prepared fs_hmac_key per secret (the SHA-256 states after
#   the ipad and opad blocks), written once in __cinit__, read-only after and
#   wiped (fs_secure_zero) when the Signer is freed; keys prepared for one call
#   are wiped before they go out of scope.
# - A Signer remembers the signed form of up to _MEMO_MAX exact-str values of at
#   most _MEMO_VALUE_MAX characters (cleared at once when full), so an id signed
#   on every response costs a dict lookup. Per Signer, never shared between
#   secrets. unsign is not memoised.
# - Strings are hashed as UTF-8 straight from their PEP 393 buffers; surrogate
#   code points become U+FFFD, as Node encodes lone surrogates.
# - A MAC is always 43 ASCII characters; unsign compares all 43 in constant time
#   against each secret in order and returns the value before the last ".".
# - The compression (SHA-NI or portable C) is chosen once, at import:
#   FASTSESSION_SHA256_PORTABLE=1 forces the portable one (CI runs the vectors
#   on both); _compression() names the one in use.

cimport cython
from cpython.dict cimport PyDict_GetItemWithError
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.object cimport PyObject
from cpython.unicode cimport PyUnicode_CheckExact
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libc.string cimport memcpy

import os


cdef extern from "Python.h":
    Py_ssize_t PyDict_GET_SIZE(object)
    Py_ssize_t PyUnicode_GET_LENGTH(object)
    int PyUnicode_KIND(object)
    void *PyUnicode_DATA(object)
    bint PyUnicode_IS_ASCII(object)
    Py_UCS4 PyUnicode_READ(int, void *, Py_ssize_t)
    Py_UCS4 PyUnicode_MAX_CHAR_VALUE(object)
    object PyUnicode_New(Py_ssize_t, Py_UCS4)
    void PyUnicode_WRITE(int, void *, Py_ssize_t, Py_UCS4)
    Py_ssize_t PyUnicode_FindChar(object, Py_UCS4, Py_ssize_t, Py_ssize_t, int) except -2
    object PyUnicode_Substring(object, Py_ssize_t, Py_ssize_t)


cdef extern from "_sha256.h":
    ctypedef void (*fs_compress_fn)(uint32_t *, const uint8_t *) noexcept nogil
    ctypedef struct fs_hmac_key:
        pass
    ctypedef struct fs_sha256_ctx:
        pass
    const uint32_t fs_sha256_iv[8]
    void fs_sha256_compress_portable(uint32_t *, const uint8_t *) noexcept nogil
    fs_compress_fn fs_sha256_accelerated() noexcept nogil
    void fs_sha256_start(fs_sha256_ctx *, const uint32_t *, uint64_t,
                         fs_compress_fn) noexcept nogil
    void fs_sha256_update(fs_sha256_ctx *, const uint8_t *, size_t) noexcept nogil
    void fs_sha256_finish(fs_sha256_ctx *, uint8_t *) noexcept nogil
    void fs_secure_zero(void *, size_t) noexcept nogil
    void fs_hmac_prepare(fs_hmac_key *, const uint8_t *, size_t, fs_compress_fn) noexcept nogil
    void fs_hmac_ucs(const fs_hmac_key *, int, const void *, size_t, int, uint8_t *,
                     fs_compress_fn) noexcept nogil
    void fs_b64_mac(const uint8_t *, uint8_t *) noexcept nogil


__all__ = ["Signer", "hmac_sha256", "sha256", "sign", "unsign"]

# The per-Signer memo of signed values: entries, and the longest value kept.
cdef Py_ssize_t _MEMO_MAX = 4096
cdef Py_ssize_t _MEMO_VALUE_MAX = 256


cdef bint _portable_requested():
    # As _speedups reads its switches: "0", "" and "false" mean off.
    flag = os.environ.get("FASTSESSION_SHA256_PORTABLE", "").strip().lower()
    return flag in ("1", "true", "yes", "on")


cdef fs_compress_fn _compress = fs_sha256_compress_portable
if not _portable_requested() and fs_sha256_accelerated() != NULL:
    _compress = fs_sha256_accelerated()


cdef inline void _mac_of(const fs_hmac_key *key, str text, Py_ssize_t n, uint8_t *out,
                         fs_compress_fn fn) noexcept:
    cdef uint8_t mac[32]
    fs_hmac_ucs(key, PyUnicode_KIND(text), PyUnicode_DATA(text), <size_t>n,
                PyUnicode_IS_ASCII(text), mac, fn)
    fs_b64_mac(mac, out)


cdef str _signed(const fs_hmac_key *key, str value):
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(value)
    cdef uint8_t b64[43]
    cdef Py_ssize_t i
    cdef int kind
    cdef void *data
    _mac_of(key, value, n, b64, _compress)
    result = PyUnicode_New(n + 44, PyUnicode_MAX_CHAR_VALUE(value))
    kind = PyUnicode_KIND(result)
    data = PyUnicode_DATA(result)
    # Same maximum character, so the same kind: the value's buffer copies as is.
    memcpy(data, PyUnicode_DATA(value), n * kind)
    PyUnicode_WRITE(kind, data, n, 0x2E)
    for i in range(43):
        PyUnicode_WRITE(kind, data, n + 1 + i, b64[i])
    return <str>result


cdef object _unsigned(const fs_hmac_key *keys, Py_ssize_t count, str signed):
    cdef Py_ssize_t total = PyUnicode_GET_LENGTH(signed)
    cdef Py_ssize_t dot, i, k
    cdef int kind = PyUnicode_KIND(signed)
    cdef void *data = PyUnicode_DATA(signed)
    cdef uint8_t b64[43]
    cdef uint32_t diff
    if total < 44:
        return None
    dot = total - 44
    # The MAC is the 43 characters after the last "."; they must hold no ".".
    if <uint32_t>PyUnicode_READ(kind, data, dot) != 0x2E:
        return None
    if PyUnicode_FindChar(signed, 0x2E, dot + 1, total, 1) != -1:
        return None
    for k in range(count):
        _mac_of(&keys[k], signed, dot, b64, _compress)
        diff = 0
        for i in range(43):
            diff |= <uint32_t>PyUnicode_READ(kind, data, dot + 1 + i) ^ b64[i]
        if diff == 0:
            return PyUnicode_Substring(signed, 0, dot)
    return None


cdef fs_hmac_key *_prepare_keys(tuple secrets) except NULL:
    cdef Py_ssize_t count = len(secrets)
    cdef Py_ssize_t k
    cdef fs_hmac_key *keys
    cdef bytes secret
    if count == 0:
        raise ValueError("at least one secret is required")
    for obj in secrets:
        if not isinstance(obj, bytes):
            raise TypeError("secrets must be a tuple of bytes")
    keys = <fs_hmac_key *>PyMem_Malloc(count * sizeof(fs_hmac_key))
    if keys == NULL:
        raise MemoryError()
    for k in range(count):
        secret = <bytes>secrets[k]
        fs_hmac_prepare(&keys[k], <const uint8_t *><char *>secret, len(secret), _compress)
    return keys


cdef inline void _check_value(object value) except *:
    if not isinstance(value, str):
        raise TypeError("Cookie value must be provided as a string.")


cdef inline void _check_signed(object signed) except *:
    if not isinstance(signed, str):
        raise TypeError("Signed cookie string must be provided.")


cdef inline tuple _check_secrets(object secrets):
    if not isinstance(secrets, tuple):
        raise TypeError("secrets must be a tuple of bytes")
    return <tuple>secrets


@cython.final
cdef class Signer:
    # The first docstring line is the __text_signature__ that inspect reads.
    """Signer(secrets)
--

Signs with ``secrets[0]``; verifies with each secret in turn (rotation)."""

    cdef fs_hmac_key *_keys
    cdef Py_ssize_t _count
    cdef dict _memo

    def __cinit__(self, secrets: tuple[bytes, ...]) -> None:
        self._keys = _prepare_keys(_check_secrets(secrets))
        self._count = len(<tuple>secrets)
        self._memo = {}

    def __dealloc__(self):
        if self._keys != NULL:
            # The prepared states are as good as the secrets: wipe them.
            fs_secure_zero(self._keys, self._count * sizeof(fs_hmac_key))
            PyMem_Free(self._keys)

    def sign(self, value: str) -> str:
        cdef PyObject *hit
        _check_value(value)
        # Exact str only: a subclass could compare equal to a different text.
        if not PyUnicode_CheckExact(value) or PyUnicode_GET_LENGTH(value) > _MEMO_VALUE_MAX:
            return _signed(self._keys, <str>value)
        hit = PyDict_GetItemWithError(self._memo, value)
        if hit != NULL:
            return <str>hit
        result = _signed(self._keys, <str>value)
        if PyDict_GET_SIZE(self._memo) >= _MEMO_MAX:
            self._memo.clear()
        self._memo[value] = result
        return result

    def unsign(self, object signed) -> str | None:
        _check_signed(signed)
        return _unsigned(self._keys, self._count, <str>signed)


def sign(value: str, secret: bytes) -> str:
    """``value + "." + base64(HMAC-SHA256(secret, value))`` without ``=`` padding."""
    cdef fs_hmac_key key
    if not isinstance(secret, bytes):
        raise TypeError("secrets must be a tuple of bytes")
    _check_value(value)
    fs_hmac_prepare(&key, <const uint8_t *><char *>secret, len(<bytes>secret), _compress)
    try:
        return _signed(&key, <str>value)
    finally:
        fs_secure_zero(&key, sizeof(key))


def unsign(object signed, secrets: tuple[bytes, ...]) -> str | None:
    """The value when any secret verifies ``signed``, else None."""
    cdef fs_hmac_key *keys = _prepare_keys(_check_secrets(secrets))
    try:
        _check_signed(signed)
        return _unsigned(keys, len(<tuple>secrets), <str>signed)
    finally:
        fs_secure_zero(keys, len(<tuple>secrets) * sizeof(fs_hmac_key))
        PyMem_Free(keys)


cdef inline const uint8_t *_bytes_of(object data, str what) except NULL:
    if not isinstance(data, bytes):
        raise TypeError(f"{what} must be bytes")
    return <const uint8_t *><char *><bytes>data


def sha256(msg: bytes) -> bytes:
    """SHA-256 of ``msg`` by the compression in use (for the known-answer tests)."""
    cdef const uint8_t *p = _bytes_of(msg, "msg")
    cdef fs_sha256_ctx c
    cdef uint8_t out[32]
    fs_sha256_start(&c, fs_sha256_iv, 0, _compress)
    fs_sha256_update(&c, p, len(<bytes>msg))
    fs_sha256_finish(&c, out)
    return (<char *>out)[:32]


def hmac_sha256(key: bytes, msg: bytes) -> bytes:
    """HMAC-SHA-256 of ``msg``, through the key preparation and MAC path the
    Signer uses (raw bytes go in as the one-byte, ASCII-flagged string kind)."""
    cdef const uint8_t *k = _bytes_of(key, "key")
    cdef const uint8_t *p = _bytes_of(msg, "msg")
    cdef fs_hmac_key prepared
    cdef uint8_t out[32]
    fs_hmac_prepare(&prepared, k, len(<bytes>key), _compress)
    fs_hmac_ucs(&prepared, 1, p, len(<bytes>msg), 1, out, _compress)
    fs_secure_zero(&prepared, sizeof(prepared))
    return (<char *>out)[:32]


def _compression() -> str:
    """The SHA-256 compression in use: "sha-ni" or "portable"."""
    return "portable" if _compress == fs_sha256_compress_portable else "sha-ni"


def _sha_ni_supported() -> bool:
    """Whether this CPU runs the SHA extensions (in use unless the portable one is forced)."""
    return fs_sha256_accelerated() != NULL
