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
from collections.abc import Mapping

from libc.string cimport memchr, memcmp, memset

from fastsession import _clock as _clock_module
from fastsession.errors import CorruptSessionError, SerializationError, SessionError
from fastsession.errors import check_record, store_error
from fastsession.record import dumps as _dumps
from fastsession.record import encode_data as _encode_data
from fastsession._dates_c import format_iso as _format_iso
from fastsession.record import join as _join
from fastsession.record import loads as _loads
from fastsession._dates_c import parse_iso as _parse_iso

# The data's serializer called as record.encode_data calls it; on an error
# encode_data runs again to name the key.
from orjson import dumps as _orjson_dumps
from fastsession.record import ORJSON_OPTIONS as _ORJSON_OPTS

from cpython.dict cimport (
    PyDict_Clear, PyDict_Contains, PyDict_Copy, PyDict_DelItem, PyDict_GetItemWithError,
    PyDict_Size, PyDict_Update,
)
from cpython.object cimport PyObject, PyTypeObject

ctypedef object (*_newfunc)(PyTypeObject *, PyObject *, PyObject *)

cdef extern from "Python.h":
    void *PyType_GetSlot(PyTypeObject *, int) except? NULL
    enum: Py_tp_new

cdef tuple _NO_ARGS = ()


cdef inline object _new(object cls):
    # cls.__new__(cls) without the Python-level call: the type's own tp_new
    # (a subclass of ours inherits our cdef class's), through the stable API.
    cdef _newfunc new = <_newfunc>PyType_GetSlot(<PyTypeObject *>cls, Py_tp_new)
    return new(<PyTypeObject *>cls, <PyObject *>_NO_ARGS, NULL)


# Read straight from the module's namespace: cheaper than getattr at each call.
cdef dict _clock_namespace = _clock_module.__dict__

# A flat dict as JSON and back (no pure module: its twin is orjson itself).
include "_flat_json.pxi"
include "_logs.pxi"
include "_headers.pxi"
include "_model.pxi"
include "_sid.pxi"
include "_memory.pxi"
include "_engine.pxi"
include "_load.pxi"
include "_request.pxi"

__all__ = [
    "CREATED_KEY",
    "EMPTY_DATA",
    "HEADERS_MAX",
    "HEADER_LEN_MAX",
    "VERIFIED_MAX",
    "CookieCore",
    "CookieShape",
    "EngineCore",
    "LoadCore",
    "MemoryCore",
    "RequestCore",
    "SessionCore",
    "SidReader",
    "cache_safe",
    "cookie_end",
    "cookie_from_fields",
    "layout_of",
    "new_request",
    "parse_record",
    "read_in_layout",
    "release",
    "shape_of",
    "with_cookie",
]
