# cython: language_level=3, auto_pickle=False, binding=False, embedsignature=True, embedsignature.format=clinic
#
# Compiled twin of the request kernel: one C unit, one .pxi per pure module it
# mirrors (fastsession/_kernel_py.py gathers the pure twins and lists the
# pairs). The pure modules are the spec; tests run every test on both twins and
# tests/test_kernel.py holds them equal on random input.
#
# Public CPython C API only: the model cores are cdef classes whose typed fields
# the kernel reads directly; nothing reaches into another type's slots or into
# other modules' private attributes.

import logging

from libc.string cimport memcmp

from fastsession import _clock as _clock_module
from fastsession.errors import CorruptSessionError, SerializationError, SessionError
from fastsession.errors import check_record, store_error
from fastsession.record import dumps as _dumps
from fastsession.record import encode_data as _encode_data
from fastsession.record import format_iso as _format_iso
from fastsession.record import join as _join
from fastsession.record import loads as _loads
from fastsession.record import parse_iso as _parse_iso

cdef object _logger = logging.getLogger("fastsession")
cdef object _DEBUG = logging.DEBUG

include "_model.pxi"
include "_sid.pxi"
include "_memory.pxi"
include "_request.pxi"

__all__ = [
    "EMPTY_DATA",
    "HEADERS_MAX",
    "HEADER_LEN_MAX",
    "VERIFIED_MAX",
    "CookieCore",
    "CookieShape",
    "EngineCore",
    "MemoryCore",
    "RequestCore",
    "SessionCore",
    "SidReader",
    "cookie_end",
    "cookie_from_fields",
    "parse_record",
    "release",
    "shape_of",
    "with_cookie",
]
