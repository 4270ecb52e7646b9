# cython: language_level=3, freethreading_compatible=True, annotation_typing=False
# cython: cdivision=False
# cython: embedsignature=True, embedsignature.format=python
#
# Compiled twin of fastsession/_cookies_py.py (the specification): npm cookie 0.7.2
# parse and serialize. tests/test_cookies.py and tests/test_kernel_properties.py
# hold the twins equal, exception types included.
#
# One C unit built from included files, each beside the pure code it mirrors:
#   _cookies_parse.pxi      parse, lookup (the indexOf scan and decodeURIComponent)
#   _cookies_serialize.pxi  encode, serialize, CookieTemplate
#   _dates.pxi              the Expires date (fastsession/_dates_py.py's http_date)
#
# Invariants:
# - parse and lookup read the header's PEP 393 buffer in place; only keys and
#   values are built.
# - Everything serialize and CookieTemplate.render emit is ASCII, so a result is
#   one 1-byte string whose length is computed first and which is filled in place.
# - A CookieTemplate's texts are fixed in __cinit__; only its Expires cache
#   changes, under a critical section (a no-op unless the GIL is disabled).

cimport cython
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.object cimport PyObject
from cpython.number cimport PyNumber_Index
from libc.math cimport floor
from libc.stdint cimport int64_t, uint8_t, uint32_t
from libc.string cimport memchr, memcpy


cdef extern from "Python.h":
    ctypedef unsigned char Py_UCS1
    PyObject *PyDict_SetDefault(object, object, object) except NULL
    Py_ssize_t PyUnicode_GET_LENGTH(object)
    int PyUnicode_KIND(object)
    void *PyUnicode_DATA(object)
    bint PyUnicode_IS_ASCII(object)
    Py_UCS4 PyUnicode_READ(int, const void *, Py_ssize_t) nogil
    object PyUnicode_New(Py_ssize_t, Py_UCS4)
    Py_UCS1 *PyUnicode_1BYTE_DATA(object)
    object PyUnicode_Substring(object, Py_ssize_t, Py_ssize_t)
    object PyUnicode_FromKindAndData(int, const void *, Py_ssize_t)
    int PyUnicode_4BYTE_KIND



__all__ = ["CookieTemplate", "encode", "lookup", "parse", "serialize"]


cdef inline uint32_t _at(int kind, const void *data, Py_ssize_t i) noexcept nogil:
    return <uint32_t>PyUnicode_READ(kind, data, i)


include "_dates.pxi"
include "_cookies_parse.pxi"
include "_cookies_serialize.pxi"
