# cython: language_level=3, auto_pickle=False, binding=False, embedsignature=True, embedsignature.format=clinic
#
# Compiled twin of fastsession/_request_py.py (the spec; its docstring states the
# invariants). tests/test_request_kernel.py holds the two equal.
#
# Where the pure twin calls the session's and cookie's methods (encode, id,
# touch, expires_ms, to_json, _record_head, Cookie.from_record,
# _SessionBase._loaded), this twin does the same steps on their slots, but only
# for objects of exactly the classes the engine (or MemoryCore) names; anything
# else goes through the methods, as in the pure twin. The slot names are those of
# fastsession/session.py (_id, cookie, _state, _encoded) and
# fastsession/cookie.py (_expires, _original, _fields, _shape); a slot is read
# and written at the offset its member descriptor names (as CPython's own
# attribute access does), for instances of exactly the class it was found on.
#
# inflate_raw scans the record's cookie object in place (the pure twin's
# regular expression, by hand) and builds objects only for what the layout
# cache does not already hold.
#
# binding=False: methods are plain method descriptors (faster to call than
# cyfunctions); embedsignature keeps inspect.signature() working on them.

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_Copy, PyDict_GetItemWithError, PyDict_SetItem, PyDict_Update
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_FromLongLong
from cpython.object cimport PyObject
from cpython.unicode cimport PyUnicode_DecodeLatin1, PyUnicode_DecodeUTF8
from libc.stdint cimport int64_t
from libc.string cimport memcmp, memcpy

import logging
from types import MappingProxyType as _MappingProxyType

from . import _clock as _clock_module
from .errors import CorruptSessionError
from .record import HAVE_ORJSON as _HAVE_ORJSON
from .record import format_iso as _format_iso
from .record import loads as _loads
from .record import parse_iso as _parse_iso

cdef extern from *:
    """
    #include <structmember.h>
    #ifndef Py_T_OBJECT_EX
    #define Py_T_OBJECT_EX T_OBJECT_EX
    #define Py_READONLY READONLY
    #endif

    /* The offset of slot `name` in instances of `type` (a writable member of
       __slots__), or -1. Instances of exactly that type keep the slot there,
       which is where CPython's own attribute access (its member descriptor)
       reads and writes it. */
    static Py_ssize_t fastsession_slot_offset(PyObject *type, PyObject *name) {
        PyObject *descr;
        if (!PyType_Check(type)) return -1;
        descr = _PyType_Lookup((PyTypeObject *)type, name);  /* borrowed */
        if (descr != NULL && Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
            PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
            if (member->type == Py_T_OBJECT_EX && !(member->flags & Py_READONLY))
                return member->offset;
        }
        return -1;
    }

    /* The slot's value (new reference); for an unset slot, getattr's error. */
    static PyObject *fastsession_slot_get(PyObject *obj, Py_ssize_t offset, PyObject *name) {
        PyObject *value = *(PyObject **)((char *)obj + offset);
        if (value == NULL) return PyObject_GetAttr(obj, name);
        Py_INCREF(value);
        return value;
    }

    static void fastsession_slot_set(PyObject *obj, Py_ssize_t offset, PyObject *value) {
        PyObject **slot = (PyObject **)((char *)obj + offset);
        PyObject *old = *slot;
        Py_INCREF(value);
        *slot = value;
        Py_XDECREF(old);
    }

    /* Whether cls is a subtype of base that keeps base's constructor. */
    static int fastsession_plain_subtype(PyObject *cls, PyTypeObject *base) {
        PyTypeObject *t = (PyTypeObject *)cls;
        return PyType_Check(cls) && t->tp_new == base->tp_new && t->tp_init == base->tp_init
            && PyType_IsSubtype(t, base);
    }

    /* base.__new__(cls): straight to base's tp_new when cls inherits it (what
       object.__new__ and dict.__new__ do once their checks pass). */
    static PyObject *fastsession_new_of(PyTypeObject *base, PyObject *cls, PyObject *no_args) {
        PyTypeObject *t = (PyTypeObject *)cls;
        if (PyType_Check(cls) && t->tp_new == base->tp_new && PyType_IsSubtype(t, base))
            return base->tp_new(t, no_args, NULL);
        return PyObject_CallMethod((PyObject *)base, "__new__", "O", cls);
    }
    """
    Py_ssize_t fastsession_slot_offset(object type, object name) noexcept
    object fastsession_slot_get(object obj, Py_ssize_t offset, object name)
    void fastsession_slot_set(object obj, Py_ssize_t offset, object value) noexcept
    object fastsession_new_of(void *base, object cls, tuple no_args)
    bint fastsession_plain_subtype(object cls, void *base) noexcept

cdef extern from "Python.h":
    ctypedef struct PyTypeObject:
        pass
    void PyObject_GC_UnTrack(object)
    PyTypeObject PyBaseObject_Type
    PyTypeObject PyDict_Type
    Py_ssize_t PyDict_GET_SIZE(object)
    char *PyBytes_AS_STRING_RW "PyBytes_AS_STRING"(object)
    bint PyDict_Next(object, Py_ssize_t *, PyObject **, PyObject **)
    int PyDict_Contains(object, object) except -1
    void PyDict_Clear(object)
    bint PyLong_CheckExact(object)
    object PyLong_FromDouble(double)
    double PyFloat_AS_DOUBLE(object)
    bint PyUnicode_CheckExact(object)
    bint PyUnicode_IS_ASCII(object)
    void *PyUnicode_DATA(object)
    Py_ssize_t PyUnicode_GET_LENGTH(object)

__all__ = [
    "DESTROY",
    "EMPTY_DATA",
    "HEADERS_MAX",
    "HEADER_LEN_MAX",
    "LAYOUTS_MAX",
    "NOTHING",
    "SET",
    "TOUCH",
    "VERIFIED_MAX",
    "EngineCore",
    "MemoryCore",
    "RequestCore",
    "cookie_end",
]

NOTHING, SET, TOUCH, DESTROY = 0, 1, 2, 3
cdef enum:
    _NOTHING = 0
    _SET = 1
    _TOUCH = 2
    _DESTROY = 3

VERIFIED_MAX = 4096
cdef Py_ssize_t _VERIFIED_MAX = VERIFIED_MAX
LAYOUTS_MAX = 64
cdef Py_ssize_t _LAYOUTS_MAX = LAYOUTS_MAX
HEADERS_MAX = 1024
cdef Py_ssize_t _HEADERS_MAX = HEADERS_MAX
HEADER_LEN_MAX = 1024
cdef Py_ssize_t _HEADER_LEN_MAX = HEADER_LEN_MAX

EMPTY_DATA = b"{}"

cdef object _logger = logging.getLogger("fastsession")
cdef object _DEBUG = logging.DEBUG
cdef dict _clock_namespace = _clock_module.__dict__
cdef frozenset _START = frozenset(
    {"http.response.start", "websocket.accept", "websocket.http.response.start"}
)
cdef tuple _NO_ARGS = ()
cdef bytes _HEAD = b'{"cookie":{'
cdef Py_ssize_t _HEAD_LEN = 11
cdef bytes _RECORD_START = b'{"cookie":'
cdef bytes _ORIGINAL_START = b'{"originalMaxAge":'
# The epoch milliseconds a datetime can hold (years 1 to 9999).
cdef long long _MIN_MS = -62_135_596_800_000
cdef long long _MAX_MS = 253_402_300_799_999

# The session data's serializer, called directly (record.encode_data's fast
# path); its errors are left to session.encode(), which explains them.
cdef object _dumps = None
cdef object _dumps_opts = None
cdef object _EncodeError = None
if _HAVE_ORJSON:
    import orjson

    from .record import _OPTS

    _dumps = orjson.dumps
    _dumps_opts = _OPTS
    _EncodeError = orjson.JSONEncodeError


# Logger.isEnabledFor reads two attributes of the logger, kept in its __dict__.
cdef dict _logger_dict = getattr(_logger, "__dict__", None)
cdef bint _plain_logger = type(_logger).isEnabledFor is logging.Logger.isEnabledFor


cdef bint _debugging() except -1:
    """logger.isEnabledFor(DEBUG), reading the logger's cache as that method does."""
    cdef PyObject *disabled
    cdef PyObject *cache
    cdef PyObject *found
    if _plain_logger and _logger_dict is not None:
        disabled = PyDict_GetItemWithError(_logger_dict, "disabled")
        cache = PyDict_GetItemWithError(_logger_dict, "_cache")
        if disabled is not NULL and cache is not NULL and type(<object>cache) is dict:
            if <object>disabled:
                return False
            found = PyDict_GetItemWithError(<object>cache, _DEBUG)
            if found is not NULL:
                return bool(<object>found)
    return bool(_logger.isEnabledFor(_DEBUG))


cdef inline void _debug(str msg, object arg) except *:
    if _debugging():
        _logger.debug(msg, arg)


cdef inline object _map_get(object mapping, object key, object default):
    if type(mapping) is dict:
        found = PyDict_GetItemWithError(mapping, key)
        return default if found is NULL else <object>found
    return mapping.get(key, default)


# -- the session's and cookie's slots -------------------------------------------------

cdef str _ID = "_id", _COOKIE = "cookie", _STATE = "_state", _ENCODED = "_encoded"
cdef str _EXPIRES = "_expires", _ORIGINAL = "_original", _FIELDS = "_fields", _SHAPE = "_shape"


@cython.final
cdef class _Slots:
    """Where a session class and a cookie class keep their slots (-1: unknown,
    use getattr/setattr)."""

    cdef object session_cls
    cdef object cookie_cls
    cdef Py_ssize_t s_id, s_cookie, s_state, s_encoded
    cdef Py_ssize_t c_expires, c_original, c_fields, c_shape


cdef _Slots _slots_of(object session_cls, object cookie_cls):
    cdef _Slots slots = _Slots.__new__(_Slots)
    slots.session_cls = session_cls
    slots.cookie_cls = cookie_cls
    slots.s_id = fastsession_slot_offset(session_cls, _ID)
    slots.s_cookie = fastsession_slot_offset(session_cls, _COOKIE)
    slots.s_state = fastsession_slot_offset(session_cls, _STATE)
    slots.s_encoded = fastsession_slot_offset(session_cls, _ENCODED)
    slots.c_expires = fastsession_slot_offset(cookie_cls, _EXPIRES)
    slots.c_original = fastsession_slot_offset(cookie_cls, _ORIGINAL)
    slots.c_fields = fastsession_slot_offset(cookie_cls, _FIELDS)
    slots.c_shape = fastsession_slot_offset(cookie_cls, _SHAPE)
    return slots


cdef inline object _get(object obj, Py_ssize_t offset, str name):
    return getattr(obj, name) if offset < 0 else fastsession_slot_get(obj, offset, name)


cdef inline int _put(object obj, Py_ssize_t offset, str name, object value) except -1:
    if offset < 0:
        setattr(obj, name, value)
    else:
        fastsession_slot_set(obj, offset, value)
    return 0


# -- the session's and cookie's methods, on their slots ----------------------------


# -- flat session data: JSON written and read here, byte for byte orjson's -----------
#
# A flat object: exact str keys and values that are None, bools, exact ints of 64
# bits or exact str. orjson writes a str as its UTF-8 with only '"', '\\' and
# U+0000..U+001F escaped, and ints in plain decimal; for ASCII text without those
# characters the bytes below are orjson's. Anything else is left to orjson.

cdef inline bint _plain_ascii(object text, const char **data, Py_ssize_t *size):
    """Whether ``text`` is an exact ASCII str needing no escape (its bytes out)."""
    cdef const unsigned char *p
    cdef Py_ssize_t i, n
    if not PyUnicode_CheckExact(text) or not PyUnicode_IS_ASCII(text):
        return False
    p = <const unsigned char *>PyUnicode_DATA(text)
    n = PyUnicode_GET_LENGTH(text)
    for i in range(n):
        if p[i] < 0x20 or p[i] == 0x22 or p[i] == 0x5C:
            return False
    data[0] = <const char *>p
    size[0] = n
    return True


@cython.cdivision(True)
cdef inline int _int_text(long long value, char *out) noexcept nogil:
    """``value`` in decimal into out (at least 20 bytes), right-aligned; the length."""
    cdef unsigned long long u = (<unsigned long long>(-(value + 1))) + 1 if value < 0 else <unsigned long long>value
    cdef int i = 20
    while True:
        i -= 1
        out[i] = <char>(48 + u % 10)
        u //= 10
        if u == 0:
            break
    if value < 0:
        i -= 1
        out[i] = b"-"
    return 20 - i


cdef struct _Out:
    char *data
    Py_ssize_t size
    Py_ssize_t cap
    bint heap


cdef bint _reserve(_Out *out, Py_ssize_t more) noexcept:
    """Room for ``more`` bytes (False: no memory)."""
    cdef char *grown
    cdef Py_ssize_t cap
    if out.size + more <= out.cap:
        return True
    cap = out.cap * 2 if out.cap * 2 > out.size + more else out.size + more
    if out.heap:
        grown = <char *>PyMem_Realloc(out.data, cap)
    else:
        grown = <char *>PyMem_Malloc(cap)
        if grown != NULL:
            memcpy(grown, out.data, out.size)
    if grown == NULL:
        return False
    out.data, out.cap, out.heap = grown, cap, True
    return True


cdef inline bint _write(_Out *out, const char *data, Py_ssize_t size) noexcept:
    if not _reserve(out, size):
        return False
    memcpy(out.data + out.size, data, size)
    out.size += size
    return True


cdef inline bint _write_text(_Out *out, const char *data, Py_ssize_t size) noexcept:
    if not _reserve(out, size + 2):
        return False
    out.data[out.size] = 0x22
    memcpy(out.data + out.size + 1, data, size)
    out.data[out.size + size + 1] = 0x22
    out.size += size + 2
    return True


cdef bint _flat_write(object obj, _Out *out):
    """Write orjson.dumps(obj) for a flat dict (or dict subclass) of the kinds
    above; False as soon as something is not one of them."""
    cdef Py_ssize_t pos = 0, n = 0
    cdef PyObject *key
    cdef PyObject *value
    cdef const char *text = NULL
    cdef char digits[20]
    cdef long long number
    cdef int overflow, length
    cdef bint ok
    if not _write(out, b"{", 1):
        return False
    while PyDict_Next(obj, &pos, &key, &value):
        if out.size > 1 and not _write(out, b",", 1):
            return False
        if not _plain_ascii(<object>key, &text, &n) or not _write_text(out, text, n):
            return False
        if not _write(out, b":", 1):
            return False
        if value == <PyObject *>None:
            ok = _write(out, b"null", 4)
        elif value == <PyObject *>True:
            ok = _write(out, b"true", 4)
        elif value == <PyObject *>False:
            ok = _write(out, b"false", 5)
        elif PyLong_CheckExact(<object>value):
            number = PyLong_AsLongLongAndOverflow(<object>value, &overflow)
            if overflow:
                return False
            length = _int_text(number, digits)
            ok = _write(out, digits + 20 - length, length)
        elif _plain_ascii(<object>value, &text, &n):
            ok = _write_text(out, text, n)
        else:
            return False
        if not ok:
            return False
    return _write(out, b"}", 1)


cdef object _flat_dumps(object obj):
    """orjson.dumps(obj) for a flat dict (or dict subclass) of the kinds above, else None."""
    cdef char small[256]
    cdef _Out out
    out.data, out.size, out.cap, out.heap = small, 0, 256, False
    try:
        if not _flat_write(obj, &out):
            return None
        return PyBytes_FromStringAndSize(out.data, out.size)
    finally:
        if out.heap:
            PyMem_Free(out.data)


cdef bint _flat_members(const unsigned char *p, Py_ssize_t pos, Py_ssize_t n, object out, bint *canonical) except -1:
    """Read the members from p[pos] to the object's "}" at p[n - 1] into ``out``, as
    orjson.loads reads them; False (``out`` then unused) if they are not all a
    string without escapes or a token _token_end reads. ``canonical``: no "-0"
    and no repeated key, so that orjson writes the same bytes back."""
    cdef Py_ssize_t key_end, value_end, size
    cdef _Token kind = _BAD
    canonical[0] = True
    while True:
        if pos >= n or p[pos] != 0x22:
            return False
        key_end = _string_end(p, pos + 1, n)
        if key_end < 0 or key_end + 1 >= n or p[key_end + 1] != b":":
            return False
        value_end = _token_end(p, key_end + 2, n, &kind)
        if value_end < 0 or value_end >= n or (p[value_end] != b"," and p[value_end] != b"}"):
            return False
        if kind == _INT and value_end - key_end - 2 == 2 and p[key_end + 2] == b"-":
            canonical[0] = False  # "-0"
        try:
            key = PyUnicode_DecodeUTF8(<const char *>p + pos + 1, key_end - pos - 1, NULL)
            value = _token_value(p, key_end + 2, value_end, kind)
        except UnicodeDecodeError:
            return False
        size = PyDict_GET_SIZE(out)
        PyDict_SetItem(out, key, value)
        if PyDict_GET_SIZE(out) == size:
            canonical[0] = False  # a repeated key
        pos = value_end + 1
        if p[value_end] == b"}":
            return value_end == n - 1


cdef object _encode(object session, _Slots slots):
    """session.encode() (``slots`` None: not exactly our class)."""
    if slots is None or _dumps is None:
        return session.encode()
    encoded = _get(session, slots.s_encoded, _ENCODED)
    if encoded is not None:
        return encoded
    if PyDict_Contains(session, "cookie"):  # exactly our class: dict's own `in`
        return session.encode()  # raises: the key is reserved
    encoded = _flat_dumps(session)
    if encoded is not None:
        return encoded
    try:
        return _dumps(session, None, _dumps_opts)
    except _EncodeError:
        return session.encode()  # raises, naming the key


cdef object _shape(object cookie, _Slots slots):
    shape = _get(cookie, slots.c_shape, _SHAPE)
    if shape is None:
        shape = cookie._get_shape()
    return shape


# The JSON of the last browser-session cookie (no expiry), with and without the
# record's start, and the shape it was made from.
cdef object _last_shape = None, _last_head_shape = None
cdef bytes _last_json = None, _last_head = None


cdef bytes _cookie_json(object cookie, object shape, _Slots slots, bint head):
    """Cookie.to_json() (after ``{"cookie":`` when ``head``)."""
    global _last_shape, _last_head_shape, _last_json, _last_head
    original = _get(cookie, slots.c_original, _ORIGINAL)
    expires = _get(cookie, slots.c_expires, _EXPIRES)
    cdef bint browser = original is None and expires is None
    if browser:
        if head and shape is _last_head_shape:
            return _last_head
        if not head and shape is _last_shape:
            return _last_json
    cdef bytes before = (<tuple>shape)[0]
    cdef bytes after = (<tuple>shape)[1]
    cdef bytes orig = b"null" if original is None else str(original).encode()
    cdef bytes exp = b"null" if expires is None else _iso_json(expires)
    cdef Py_ssize_t prefix = 10 if head else 0
    cdef bytes out = PyBytes_FromStringAndSize(
        NULL,
        prefix + 18 + PyBytes_GET_SIZE(orig) + PyBytes_GET_SIZE(before)
        + PyBytes_GET_SIZE(exp) + PyBytes_GET_SIZE(after),
    )
    cdef char *w = PyBytes_AS_STRING_RW(out)
    if head:
        memcpy(w, PyBytes_AS_STRING(_RECORD_START), 10)
        w += 10
    memcpy(w, PyBytes_AS_STRING(_ORIGINAL_START), 18)
    w += 18
    for part in (orig, before, exp, after):
        memcpy(w, PyBytes_AS_STRING(part), PyBytes_GET_SIZE(part))
        w += PyBytes_GET_SIZE(part)
    if browser:
        if head:
            _last_head_shape, _last_head = shape, out
        else:
            _last_shape, _last_json = shape, out
    return out


cdef bytes _join(bytes cookie_json, object data_json):
    """record.join(cookie_json, data_json)."""
    if data_json == b"{}":
        return b'{"cookie":' + cookie_json + b"}"
    return b'{"cookie":' + cookie_json + b"," + data_json[1:]


cdef object _new_cookie(
    _Slots slots, object original, object expires, object fields, object shape, bint scalars
):
    """Cookie.from_record({"originalMaxAge": original, "expires": expires, **fields}),
    with its shape when known (``scalars``: fields holds JSON scalars only)."""
    cookie = fastsession_new_of(&PyBaseObject_Type, slots.cookie_cls, _NO_ARGS)
    _put(cookie, slots.c_expires, _EXPIRES, _iso_ms(expires) if isinstance(expires, str) else None)
    if original is None or type(original) is int:
        pass
    elif isinstance(original, (int, float)) and not isinstance(original, bool):
        original = int(original)
    else:
        original = None
    _put(cookie, slots.c_original, _ORIGINAL, original)
    _put(cookie, slots.c_fields, _FIELDS, fields)
    _put(cookie, slots.c_shape, _SHAPE, shape)
    if scalars and min(slots.c_fields, slots.c_shape, slots.c_expires, slots.c_original) >= 0:
        # Its slots hold an int or None, a dict of JSON scalars and a shared
        # tuple: it is never part of a cycle, so the cyclic GC need not visit it
        # (it is freed by reference counting, with the session holding it).
        PyObject_GC_UnTrack(cookie)
    return cookie


# -- dates: express's ISO form, and the cookie's own lifetime -----------------------
#
# A stored expiry is "YYYY-MM-DDTHH:MM:SS.mmmZ" (JS toISOString) from 1970 on:
# read and written here as record.parse_iso / format_iso do; any other text or
# time goes to them.

@cython.cdivision(True)
cdef inline long long _days_from_civil(long long y, long long m, long long d) noexcept nogil:
    y -= m <= 2
    cdef long long era = (y if y >= 0 else y - 399) // 400
    cdef long long yoe = y - era * 400
    cdef long long doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    cdef long long doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@cython.cdivision(True)
cdef inline void _civil_from_days(long long z, long long *y, long long *m, long long *d) noexcept nogil:
    z += 719468
    cdef long long era = (z if z >= 0 else z - 146096) // 146097
    cdef long long doe = z - era * 146097
    cdef long long yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    cdef long long doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    cdef long long mp = (5 * doy + 2) // 153
    d[0] = doy - (153 * mp + 2) // 5 + 1
    m[0] = mp + 3 if mp < 10 else mp - 9
    y[0] = yoe + era * 400 + (1 if m[0] <= 2 else 0)


cdef inline int _digits(const unsigned char *p, int count) noexcept nogil:
    """The number in ``count`` ASCII digits at p, or -1."""
    cdef int value = 0, i
    for i in range(count):
        if p[i] < 48 or p[i] > 57:
            return -1
        value = value * 10 + (p[i] - 48)
    return value


cdef object _iso_ms(object text):
    """record.parse_iso(text) (a str)."""
    cdef const unsigned char *p
    cdef int y, mo, d, h, mi, sec, ms, dim
    if not PyUnicode_CheckExact(text) or not PyUnicode_IS_ASCII(text) or PyUnicode_GET_LENGTH(text) != 24:
        return _parse_iso(text)
    p = <const unsigned char *>PyUnicode_DATA(text)
    if not (p[4] == b"-" and p[7] == b"-" and p[10] == b"T" and p[13] == b":"
            and p[16] == b":" and p[19] == b"." and p[23] == b"Z"):
        return _parse_iso(text)
    y, mo, d = _digits(p, 4), _digits(p + 5, 2), _digits(p + 8, 2)
    h, mi, sec, ms = _digits(p + 11, 2), _digits(p + 14, 2), _digits(p + 17, 2), _digits(p + 20, 3)
    if y < 1 or not 1 <= mo <= 12 or d < 1 or h < 0 or h > 23 or mi < 0 or mi > 59 or sec < 0 or sec > 59 or ms < 0:
        return _parse_iso(text)
    dim = 31 if mo in (1, 3, 5, 7, 8, 10, 12) else 30 if mo != 2 else (
        29 if (y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)) else 28
    )
    if d > dim:
        return _parse_iso(text)
    return PyLong_FromLongLong(
        _days_from_civil(y, mo, d) * 86_400_000 + h * 3_600_000 + mi * 60_000 + sec * 1000 + ms
    )


@cython.cdivision(True)
cdef bytes _iso_json(object expires):
    """``'"' + record.format_iso(expires) + '"'`` as bytes."""
    cdef long long ms, days, rem, y, m, d
    cdef int overflow
    cdef char *w
    if type(expires) is int:
        ms = PyLong_AsLongLongAndOverflow(expires, &overflow)
        if not overflow and 0 <= ms <= _MAX_MS:
            days, rem = ms // 86_400_000, ms % 86_400_000
            _civil_from_days(days, &y, &m, &d)
            out = PyBytes_FromStringAndSize(NULL, 26)
            w = PyBytes_AS_STRING_RW(out)
            w[0] = w[25] = 0x22
            _put_digits(w + 1, y, 4)
            w[5] = w[8] = b"-"
            _put_digits(w + 6, m, 2)
            _put_digits(w + 9, d, 2)
            w[11] = b"T"
            _put_digits(w + 12, rem // 3_600_000, 2)
            w[14] = w[17] = b":"
            _put_digits(w + 15, rem // 60_000 % 60, 2)
            _put_digits(w + 18, rem // 1000 % 60, 2)
            w[20] = b"."
            _put_digits(w + 21, rem % 1000, 3)
            w[24] = b"Z"
            return out
    return ('"' + _format_iso(expires) + '"').encode()


@cython.cdivision(True)
cdef inline void _put_digits(char *w, long long value, int count) noexcept nogil:
    cdef int i
    for i in range(count - 1, -1, -1):
        w[i] = <char>(48 + value % 10)
        value //= 10


cdef int _reset_max_age(object cookie, _Slots slots) except -1:
    """cookie.reset_max_age() of exactly our cookie: expires = now + original."""
    original = _get(cookie, slots.c_original, _ORIGINAL)
    if original is None:
        _put(cookie, slots.c_expires, _EXPIRES, None)
        return 0
    now = _clock_namespace["now"]()
    now_ms = PyLong_FromDouble(PyFloat_AS_DOUBLE(now) * 1000.0) if type(now) is float else int(now * 1000)
    expires = int(now_ms + original)
    _put(cookie, slots.c_expires, _EXPIRES, expires)
    _put(cookie, slots.c_original, _ORIGINAL, expires - now_ms)
    return 0


def cookie_end(bytes doc):
    """Where the leading cookie object of record JSON ends, or -1 if unsure.

    The cookie's members are scalars, so without a backslash the first ``}``
    preceded by an even number of quotes closes it."""
    return _cookie_end(<const unsigned char *>PyBytes_AS_STRING(doc), PyBytes_GET_SIZE(doc))


cdef Py_ssize_t _cookie_end(const unsigned char *p, Py_ssize_t n) noexcept nogil:
    # One pass doing what the pure twin's scan to each "}" decides there.
    cdef Py_ssize_t i, quotes = 0
    cdef bint unsure = False
    cdef unsigned char c
    if n < 11 or memcmp(p, b'{"cookie":{', 11) != 0:
        return -1
    for i in range(11, n):
        c = p[i]
        if c == b"}":
            if unsure:
                return -1
            if quotes % 2 == 0:
                return i + 1
        elif c == 0x5C or c == b"{" or c == b"[":
            unsure = True
        elif c == 0x22:
            quotes += 1
    return -1


# -- the cookie object of a stored record, scanned in place ------------------------

cdef enum _Token:
    _BAD = 0
    _NULL
    _TRUE
    _FALSE
    _INT
    _STR


cdef inline Py_ssize_t _string_end(const unsigned char *p, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    """Where the string whose first character is at i closes (its '"'), or -1:
    no backslash or control character before it."""
    cdef unsigned char c
    while i < n:
        c = p[i]
        if c == 0x22:
            return i
        if c == 0x5C or c < 0x20:
            return -1
        i += 1
    return -1


cdef inline Py_ssize_t _token_end(const unsigned char *p, Py_ssize_t i, Py_ssize_t n, _Token *kind) noexcept nogil:
    """The end of the value token at i (null, true, false, an integer of at most
    18 digits, a string without escapes), its kind in ``kind``; -1 if none."""
    cdef Py_ssize_t j, digits
    if i >= n:
        return -1
    cdef unsigned char c = p[i]
    if c == 0x22:
        j = _string_end(p, i + 1, n)
        kind[0] = _STR
        return -1 if j < 0 else j + 1
    if c == b"n" and n - i >= 4 and memcmp(p + i, b"null", 4) == 0:
        kind[0] = _NULL
        return i + 4
    if c == b"t" and n - i >= 4 and memcmp(p + i, b"true", 4) == 0:
        kind[0] = _TRUE
        return i + 4
    if c == b"f" and n - i >= 5 and memcmp(p + i, b"false", 5) == 0:
        kind[0] = _FALSE
        return i + 5
    j = i
    if c == b"-":
        j += 1
    if j >= n or p[j] < b"0" or p[j] > b"9":
        return -1
    kind[0] = _INT
    if p[j] == b"0":
        return j + 1
    digits = 0
    while j < n and b"0" <= p[j] <= b"9":
        j += 1
        digits += 1
    return -1 if digits > 18 else j


cdef object _token_value(const unsigned char *p, Py_ssize_t start, Py_ssize_t end, _Token kind):
    """The token's value as orjson.loads reads it (UnicodeDecodeError for bad UTF-8)."""
    cdef int64_t value = 0
    cdef bint negative
    cdef Py_ssize_t i
    if kind == _NULL:
        return None
    if kind == _TRUE:
        return True
    if kind == _FALSE:
        return False
    if kind == _STR:
        return PyUnicode_DecodeUTF8(<const char *>p + start + 1, end - start - 2, NULL)
    negative = p[start] == b"-"
    i = start + 1 if negative else start
    while i < end:
        value = value * 10 + (p[i] - 48)
        i += 1
    return PyLong_FromLongLong(-value if negative else value)


cdef struct _Scan:
    Py_ssize_t end          # just after the cookie object's "}"
    Py_ssize_t members      # how many members
    Py_ssize_t cuts[6]      # the layout: p[cuts[0]:cuts[1]] + p[cuts[2]:cuts[3]] + ...
    int ncuts
    Py_ssize_t exp_start, exp_end, orig_start, orig_end  # -1: absent
    _Token exp_kind, orig_kind
    Py_ssize_t size         # the layout's length


cdef bint _scan(const unsigned char *p, Py_ssize_t n, _Scan *s) noexcept nogil:
    """Find the members of the cookie object that starts the record; False if
    it is not a flat object of the tokens _token_end reads (or repeats
    ``expires`` or ``originalMaxAge``)."""
    cdef Py_ssize_t pos = 11, key_end, value_end, i
    cdef _Token kind = _BAD
    cdef Py_ssize_t klen
    s.ncuts = 1
    s.cuts[0] = pos
    s.members = 0
    s.exp_start = s.orig_start = -1
    while True:
        if pos >= n or p[pos] != 0x22:
            return False
        key_end = _string_end(p, pos + 1, n)
        if key_end < 0 or key_end + 1 >= n or p[key_end + 1] != b":":
            return False
        value_end = _token_end(p, key_end + 2, n, &kind)
        if value_end < 0 or value_end >= n or (p[value_end] != b"," and p[value_end] != b"}"):
            return False
        klen = key_end - pos - 1
        if klen == 7 and memcmp(p + pos + 1, b"expires", 7) == 0:
            if s.exp_start >= 0:
                return False
            s.exp_start, s.exp_end, s.exp_kind = key_end + 2, value_end, kind
        elif klen == 14 and memcmp(p + pos + 1, b"originalMaxAge", 14) == 0:
            if s.orig_start >= 0:
                return False
            s.orig_start, s.orig_end, s.orig_kind = key_end + 2, value_end, kind
        else:
            s.members += 1
            pos = value_end + 1
            if p[value_end] == b"}":
                break
            continue
        s.cuts[s.ncuts] = key_end + 2
        s.cuts[s.ncuts + 1] = value_end
        s.ncuts += 2
        pos = value_end + 1
        if p[value_end] == b"}":
            break
    s.end = pos
    s.cuts[s.ncuts] = pos
    s.ncuts += 1
    s.size = 0
    for i in range(0, s.ncuts, 2):
        s.size += s.cuts[i + 1] - s.cuts[i]
    return True


cdef bint _layout_is(const unsigned char *p, _Scan *s, bytes layout) noexcept:
    """Whether the scanned layout equals ``layout``, compared in place."""
    if layout is None or PyBytes_GET_SIZE(layout) != s.size:
        return False
    cdef const char *q = PyBytes_AS_STRING(layout)
    cdef Py_ssize_t i, length
    for i in range(0, s.ncuts, 2):
        length = s.cuts[i + 1] - s.cuts[i]
        if memcmp(q, p + s.cuts[i], length) != 0:
            return False
        q += length
    return True


cdef bytes _layout_of(const unsigned char *p, _Scan *s):
    cdef bytes layout = PyBytes_FromStringAndSize(NULL, s.size)
    cdef char *w = PyBytes_AS_STRING_RW(layout)
    cdef Py_ssize_t i, length
    for i in range(0, s.ncuts, 2):
        length = s.cuts[i + 1] - s.cuts[i]
        memcpy(w, p + s.cuts[i], length)
        w += length
    return layout


cdef dict _fields_of(const unsigned char *p, Py_ssize_t n):
    """The cookie object's members other than expires and originalMaxAge (a
    record _scan accepted; UnicodeDecodeError for bad UTF-8)."""
    cdef dict fields = {}
    cdef Py_ssize_t pos = 11, key_end, value_end, klen
    cdef _Token kind = _BAD
    while True:
        key_end = _string_end(p, pos + 1, n)
        value_end = _token_end(p, key_end + 2, n, &kind)
        klen = key_end - pos - 1
        if not (
            (klen == 7 and memcmp(p + pos + 1, b"expires", 7) == 0)
            or (klen == 14 and memcmp(p + pos + 1, b"originalMaxAge", 14) == 0)
        ):
            key = PyUnicode_DecodeUTF8(<const char *>p + pos + 1, klen, NULL)
            fields[key] = _token_value(p, key_end + 2, value_end, kind)
        pos = value_end + 1
        if p[value_end] == b"}":
            return fields


cdef RequestCore _new_state(object cls, EngineCore engine, object conn, object options):
    """cls(engine, conn, options), without the call when cls keeps RequestCore's
    own constructor (its attributes are then set here, as __init__ sets them)."""
    cdef RequestCore state
    if fastsession_plain_subtype(cls, <void *>RequestCore):
        state = fastsession_new_of(<void *>RequestCore, cls, _NO_ARGS)
        state.engine = engine
        state.conn = conn
        state.options = options
        return state
    return cls(engine, conn, options)


cdef class EngineCore:
    """EngineCore()

    What the request kernel needs of one middleware's configuration.

    ``Engine`` (fastsession._core) sets every attribute in its ``__init__``."""

    cdef public object name
    cdef public object lookup
    cdef public object unsign
    cdef public dict verified
    cdef public dict headers
    cdef public dict layouts
    cdef public object session_key
    cdef public object id_key
    cdef public object session_cls
    cdef public object session_base
    cdef public object cookie_cls
    cdef public object shape_of
    cdef public bint resave
    cdef public bint rolling
    cdef public bint save_uninitialized
    cdef public bint unset_destroy
    cdef public bint has_touch
    cdef public object store_get
    cdef public object store_set
    cdef public object store_touch
    cdef public object store_destroy
    cdef public object memory
    cdef _Slots _slots          # of session_cls and cookie_cls, found on first use
    cdef bytes _last_layout     # the layout inflate_raw found last, and its entry
    cdef tuple _last_entry

    def __init__(self):
        """Nothing to do: the subclass sets the attributes."""

    cdef _Slots slots(self):
        cdef _Slots slots = self._slots
        if slots is None or slots.session_cls is not self.session_cls or slots.cookie_cls is not self.cookie_cls:
            slots = self._slots = _slots_of(self.session_cls, self.cookie_cls)
        return slots

    def read_id(self, header):
        """The verified id in the first cookie with our name, or None (express getcookie)."""
        return self._read_id(header)

    cdef object _read_id(self, object header):
        if not header:
            return None
        found = PyDict_GetItemWithError(self.headers, header)
        if found is not NULL:
            return <object>found
        sid = self._verify(header)
        if sid is not None:
            self._remember(header, sid)
        return sid

    cdef object _verify(self, object header):
        value = self.lookup(header, self.name)
        if value is None:
            return None
        cdef dict verified = self.verified
        found = PyDict_GetItemWithError(verified, value)
        if found is not NULL:
            return <object>found
        if not value.startswith("s:"):
            return None
        sid = self.unsign(value[2:])
        if not sid:
            return None
        if PyDict_GET_SIZE(verified) >= _VERIFIED_MAX:
            verified.clear()
        verified[value] = sid
        return sid

    cdef int _remember(self, object header, object sid) except -1:
        cdef dict headers = self.headers
        if len(header) <= _HEADER_LEN_MAX:
            if PyDict_GET_SIZE(headers) >= _HEADERS_MAX:
                headers.clear()
            headers[header] = sid
        return 0

    def read_asgi_id(self, headers):
        """`read_id` of an ASGI scope's headers: every ``cookie`` header, joined.

        A single one is remembered as it came (bytes), so it needs no decoding."""
        header = None
        single = None  # the first cookie header, while it is the only one (bytes)
        if headers:
            for name, value in headers:
                if PyBytes_CheckExact(name):
                    if PyBytes_GET_SIZE(name) != 6 or memcmp(PyBytes_AS_STRING(name), b"cookie", 6):
                        continue
                elif not (name == b"cookie"):
                    continue
                if header is None and single is None and PyBytes_CheckExact(value):
                    single = value
                    continue
                if single is not None:
                    header = PyUnicode_DecodeLatin1(PyBytes_AS_STRING(single), PyBytes_GET_SIZE(single), NULL)
                    single = None
                if PyBytes_CheckExact(value):
                    text = PyUnicode_DecodeLatin1(PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value), NULL)
                else:
                    text = value.decode("latin-1")
                header = text if header is None else f"{header}; {text}"
        if single is None:
            return self._read_id(header)
        if PyBytes_GET_SIZE(single) == 0:
            return None
        found = PyDict_GetItemWithError(self.headers, single)
        if found is not NULL:
            return <object>found
        sid = self._verify(
            PyUnicode_DecodeLatin1(PyBytes_AS_STRING(single), PyBytes_GET_SIZE(single), NULL)
        )
        if sid is not None:
            self._remember(single, sid)
        return sid

    def asgi_begin(self, cls, scope, options, send):
        """An ASGI request's state (``cls(self, scope, options)``), its session
        loaded from a sync store (`RequestCore.begin`)."""
        cdef RequestCore state = _new_state(cls, self, scope, options)
        state.respond = send
        state._begin(self.read_asgi_id(_map_get(scope, "headers", None)))
        return state

    def wsgi_begin(self, cls, environ, options, start_response):
        """A WSGI request's state (``cls(self, environ, options)``), its session loaded."""
        cdef RequestCore state = _new_state(cls, self, environ, options)
        state.respond = start_response
        state._begin(self._read_id(_map_get(environ, "HTTP_COOKIE", None)))
        return state

    def set_cookie_line(self, sid, cookie):
        raise NotImplementedError

    def load_failed(self, exc):
        """The error to raise for a failed store get (logged)."""
        raise NotImplementedError

    def store_failed(self, op, exc):
        """The error to raise for a failed store write (logged)."""
        raise NotImplementedError


cdef class RequestCore:
    """RequestCore(engine, conn, options)

    One request's session bookkeeping (express's cookieId, originalId, hashes).

    ``respond`` is the server's ``send`` (ASGI) or ``start_response`` (WSGI)."""

    cdef public EngineCore engine
    cdef public object conn
    cdef public object options
    cdef public object respond
    cdef public object _secure
    cdef public object cookie_id
    cdef public object original_id
    cdef public object original_data
    cdef public object saved_data
    cdef public bint touched
    cdef public bint destroyed
    cdef public bint started
    cdef public object committed_id
    cdef public object committed_data

    def __init__(self, EngineCore engine, conn, options):
        self.engine = engine
        self.conn = conn
        self.options = options
        # The other attributes start as None or False.

    def secure_scheme(self):
        """Whether the request came over TLS (each protocol's subclass says)."""
        raise NotImplementedError

    def generate(self):
        """A brand-new session (express generate)."""
        raise NotImplementedError

    def is_secure(self):
        if self._secure is None:
            self._secure = bool(self.secure_scheme())
        return self._secure

    # -- loading -----------------------------------------------------------------------

    def begin(self, sid):
        """The request's session, from a sync store: loaded if ``sid`` (the
        cookie's verified id) is stored, else new (an unknown id is never reused)."""
        return self._begin(sid)

    cdef object _begin(self, object sid):
        self.cookie_id = sid
        if sid is None:
            return self.generate()
        cdef EngineCore engine = self.engine
        memory = engine.memory
        raw = record = None
        try:
            if type(memory) is MemoryCore:
                raw = (<MemoryCore>memory)._lru_get(sid)
            elif memory is not None:
                raw = memory.get_raw(sid)
            else:
                record = engine.store_get(sid)
        except FileNotFoundError:
            pass
        except Exception as exc:
            raise engine.load_failed(exc) from exc
        if raw is not None:
            session = self._inflate_raw(sid, raw)
            if session is not None:
                return session
            try:
                record = memory.parse(raw)
            except Exception as exc:
                raise engine.load_failed(exc) from exc
        if record is not None:
            return self.inflate(sid, record)
        return self.generate()

    def inflate(self, sid, record):
        """The session loaded from the store (express inflate)."""
        if not isinstance(record, dict):
            raise CorruptSessionError(
                f"stored session is a {type(record).__name__}, not an object"
            )
        fields = record.pop("cookie", None)
        if not isinstance(fields, dict):
            raise CorruptSessionError("stored session has no cookie object")
        cdef dict attrs = PyDict_Copy(fields) if type(fields) is dict else dict(fields)
        expires = attrs.pop("expires", None)
        original = attrs.pop("originalMaxAge", None)
        cdef _Slots slots = self.engine.slots()
        cookie = _new_cookie(slots, original, expires, attrs, None, False)
        session = fastsession_new_of(&PyDict_Type, slots.session_cls, _NO_ARGS)
        PyDict_Update(session, record)
        return self._loaded(sid, cookie, session, slots, False, None)

    def inflate_raw(self, sid, bytes raw):
        """``inflate(sid, parse(raw))`` for a record in the usual shape, else None."""
        return self._inflate_raw(sid, raw)

    cdef object _inflate_raw(self, object sid, bytes raw):
        cdef const unsigned char *p = <const unsigned char *>PyBytes_AS_STRING(raw)
        cdef Py_ssize_t n = PyBytes_GET_SIZE(raw), end
        cdef _Scan scan
        cdef dict fields, layouts
        cdef tuple entry = None
        cdef EngineCore engine = self.engine
        cdef _Slots slots
        cdef bint canonical
        if n < _HEAD_LEN or memcmp(p, PyBytes_AS_STRING(_HEAD), _HEAD_LEN) != 0:
            return None
        if not _scan(p, n, &scan):
            return None
        if _layout_is(p, &scan, engine._last_layout):
            entry = engine._last_entry
        try:
            original = expires = None
            if scan.orig_start >= 0:
                original = _token_value(p, scan.orig_start, scan.orig_end, scan.orig_kind)
            if scan.exp_start >= 0:
                expires = _token_value(p, scan.exp_start, scan.exp_end, scan.exp_kind)
            fields = _fields_of(p, n) if entry is None else None
        except UnicodeDecodeError:
            return None
        # The data goes straight into the session (dropped if this gives up).
        slots = engine.slots()
        session = fastsession_new_of(&PyDict_Type, slots.session_cls, _NO_ARGS)
        end = scan.end
        encoded = None  # the data's JSON when known to be what orjson writes
        if end == n - 1 and p[end] == b"}":
            encoded = EMPTY_DATA
        elif end + 1 < n and p[end] == b"," and p[end + 1] == 0x22:
            data_json = PyBytes_FromStringAndSize(NULL, n - end)
            PyBytes_AS_STRING_RW(data_json)[0] = b"{"
            memcpy(PyBytes_AS_STRING_RW(data_json) + 1, p + end + 1, n - end - 1)
            if _flat_members(p, end + 1, n, session, &canonical):
                if canonical:
                    encoded = data_json
            else:
                PyDict_Clear(session)
                try:
                    data = _loads(data_json)
                except ValueError:
                    return None
                PyDict_Update(session, data)
            if PyDict_Contains(session, "cookie"):
                return None  # a second "cookie" member: left to the full parse
        else:
            return None
        if entry is None:
            layout = _layout_of(p, &scan)
            layouts = engine.layouts
            found = PyDict_GetItemWithError(layouts, layout)
            if found is NULL:
                # The members, read-only, shared by the cookies of this layout
                # (a cookie copies them when one is set: Cookie.put).
                entry = (_MappingProxyType(fields), engine.shape_of(fields))
                if PyDict_GET_SIZE(layouts) >= _LAYOUTS_MAX:
                    layouts.clear()
                layouts[layout] = entry
            else:
                entry = <tuple>found
            engine._last_layout = layout
            engine._last_entry = entry
        cookie = _new_cookie(slots, original, expires, entry[0], entry[1], True)
        return self._loaded(sid, cookie, session, slots, True, encoded)

    cdef object _loaded(
        self, object sid, object cookie, object session, _Slots slots, bint plain, object encoded
    ):
        """The rest of _SessionBase._loaded(sid, cookie, data, self) for a session
        holding its data, and the bookkeeping of a loaded session (``plain``: no
        "cookie" key; ``encoded``: the data's JSON, if known)."""
        cdef EngineCore engine = self.engine
        _put(session, slots.s_id, _ID, sid)
        _put(session, slots.s_cookie, _COOKIE, cookie)
        _put(session, slots.s_state, _STATE, self)
        _put(session, slots.s_encoded, _ENCODED, None)
        conn = self.conn
        conn[engine.id_key] = sid
        conn[engine.session_key] = session
        self.original_id = sid
        if encoded is not None:
            pass
        elif plain and _dumps is not None:
            encoded = _flat_dumps(session)
            if encoded is None:
                try:
                    encoded = _dumps(session, None, _dumps_opts)
                except _EncodeError:
                    encoded = session.encode()  # raises, naming the key
        else:
            encoded = _encode(session, slots)
        self.original_data = encoded
        if not engine.resave:
            self.saved_data = encoded  # a freshly loaded session counts as saved
        return session

    # -- the decisions -----------------------------------------------------------------

    def plan(self, bint final):
        """What to do now: (Set-Cookie line or None, store operation, its argument)."""
        return self._plan(final)

    cdef tuple _plan(self, bint final):
        cdef EngineCore engine = self.engine
        cdef bint same_id, modified, is_new, set_cookie, save
        cdef _Slots slots = None
        conn = self.conn
        session = _map_get(conn, engine.session_key, None)
        sid = _map_get(conn, engine.id_key, None)
        if session is None:
            if engine.unset_destroy and sid and not self.destroyed:
                self.destroyed = True
                _debug("destroying session %s (unset)", sid)
                return None, _DESTROY, sid
            return None, _NOTHING, None
        if type(session) is engine.session_cls:
            slots = engine.slots()
        elif not isinstance(session, engine.session_base):
            return None, _NOTHING, None
        if type(sid) is not str and not isinstance(sid, str):
            return None, _NOTHING, None

        data = _encode(session, slots)
        current = session.id if slots is None else _get(session, slots.s_id, _ID)
        if final and self.committed_data == data and self.committed_id == current:
            return None, _NOTHING, None
        self.committed_id = current
        self.committed_data = data
        same_id = self.original_id == current
        modified = not same_id or self.original_data != data
        is_new = self.cookie_id != sid
        line = None
        if not final:
            cookie = session.cookie if slots is None else _get(session, slots.s_cookie, _COOKIE)
            exact = slots is not None and type(cookie) is slots.cookie_cls
            if is_new:
                set_cookie = engine.save_uninitialized or modified
            elif engine.rolling:
                set_cookie = True
            elif not modified:
                set_cookie = False
            elif exact:
                set_cookie = _get(cookie, slots.c_expires, _EXPIRES) is not None
            else:
                set_cookie = cookie.expires_ms is not None
            if set_cookie and cookie.secure and not self.is_secure():
                _debug("not secured: no Set-Cookie for %s", sid)
                set_cookie = False
            if not self.touched:
                if exact:
                    _reset_max_age(cookie, slots)  # session.touch()
                else:
                    session.touch()
                self.touched = True
            if set_cookie:
                line = engine.set_cookie_line(sid, cookie)
                _debug("set-cookie for session %s", sid)

        saved = self.saved_data
        if not engine.save_uninitialized and saved is None and is_new:
            save = modified
        else:
            save = not (same_id and saved == data)
        if save:
            self.saved_data = data
            if slots is None:
                session._encoded = data
            else:
                _put(session, slots.s_encoded, _ENCODED, data)
            _debug("saving session %s", current)
            return line, _SET, session
        if not final and engine.has_touch and not is_new:
            if slots is None:
                session._encoded = data
            else:
                _put(session, slots.s_encoded, _ENCODED, data)
            _debug("touching session %s", sid)
            return line, _TOUCH, session
        if not final:
            _debug("session %s unchanged: nothing to store", sid)
        return line, _NOTHING, None

    # -- doing it with a sync store -------------------------------------------------------

    def commit(self, bint final):
        """Do what `plan` decides; a store failure is raised, never swallowed."""
        return self._commit(final)

    cdef object _commit(self, bint final):
        cdef tuple planned = self._plan(final)
        line = planned[0]
        cdef int op = planned[1]
        arg = planned[2]
        if not op:
            return line
        cdef EngineCore engine = self.engine
        cdef _Slots slots = engine.slots() if type(arg) is engine.session_cls else None
        memory = engine.memory
        try:
            if op == _SET or op == _TOUCH:
                try:
                    sid = arg.id if slots is None else _get(arg, slots.s_id, _ID)
                    if type(memory) is MemoryCore:
                        if op == _SET:
                            (<MemoryCore>memory)._set(sid, arg)
                        else:
                            (<MemoryCore>memory)._touch(sid, arg)
                    elif memory is not None:
                        (memory.set if op == _SET else memory.touch)(sid, arg)
                    else:
                        (engine.store_set if op == _SET else engine.store_touch)(sid, arg)
                finally:
                    if slots is None:
                        arg._encoded = None
                    else:
                        _put(arg, slots.s_encoded, _ENCODED, None)
            else:
                engine.store_destroy(arg)
        except Exception as exc:
            raise engine.store_failed(op, exc) from exc
        return line

    def asgi_send(self, message):
        """The ``send`` an ASGI app is given (a sync store): commit at the
        response's start and before its last message, then the server's ``send``."""
        kind = message["type"]
        if kind in _START:
            self.started = True
            line = self._commit(False)
            if line is not None:
                message = dict(message)
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"set-cookie", line.encode("latin-1")),
                ]
        elif self.started and (
            (kind == "http.response.body" and not _map_get(message, "more_body", False))
            or kind == "websocket.close"
        ):
            self._commit(True)
        return self.respond(message)

    def start_response(self, status, headers, exc_info=None):
        """The ``start_response`` a WSGI app is given: commit, then the server's."""
        if not self.started:
            self.started = True
            line = self._commit(False)
            if line is not None:
                headers = [*headers, ("Set-Cookie", line)]
        return self.respond(status, headers, exc_info)


@cython.final
cdef class MemoryCore:
    """MemoryCore(lru, lock, ttl, clock, parse, splice, cookie_end, session_classes, cookie_cls)

    MemoryStore's data path: records are the sessions' exact JSON bytes in
    an LRU with a deadline each; writes hold ``lock``."""

    cdef public object lru
    cdef public object lock
    cdef public object ttl
    cdef public object clock
    cdef public object parse
    cdef public object splice
    cdef public object cookie_end
    cdef public tuple session_classes
    cdef public object cookie_cls
    # Bound once: the LRU's and the lock's methods, and our classes' slots.
    cdef object _lru_get, _lru_peek, _lru_set, _acquire, _release
    cdef _Slots _slots0, _slots1

    def __init__(
        self, lru, lock, ttl, clock, parse, splice, cookie_end, tuple session_classes, cookie_cls
    ):
        self.lru = lru
        self.lock = lock
        self.ttl = ttl
        self.clock = clock
        self.parse = parse
        self.splice = splice
        self.cookie_end = cookie_end
        self.session_classes = session_classes
        self.cookie_cls = cookie_cls
        self._lru_get = lru.get
        self._lru_peek = lru.peek
        self._lru_set = lru.set
        self._acquire = lock.acquire
        self._release = lock.release
        self._slots0 = _slots_of(session_classes[0], cookie_cls)
        self._slots1 = _slots_of(session_classes[1], cookie_cls)

    def get_raw(self, sid):
        return self._lru_get(sid)

    def get(self, sid):
        raw = self._lru_get(sid)
        return None if raw is None else self.parse(raw)

    def set(self, sid, session):
        self._set(sid, session)

    def touch(self, sid, session):
        self._touch(sid, session)

    def deadline(self, session):
        """When the session's record expires, in clock seconds."""
        return self._deadline(session, session.cookie)

    cdef _Slots _ours(self, object session):
        """Our slots for exactly one of our session classes, else None."""
        if type(session) is self._slots0.session_cls:
            return self._slots0
        if type(session) is self._slots1.session_cls:
            return self._slots1
        return None

    cdef object _set(self, object sid, object session):
        cdef _Slots slots = self._ours(session)
        cookie = session.cookie if slots is None else _get(session, slots.s_cookie, _COOKIE)
        if slots is not None and type(cookie) is slots.cookie_cls:
            # session.to_json()
            cookie_json = _cookie_json(cookie, _shape(cookie, slots), slots, False)
            value = _join(cookie_json, _encode(session, slots))
        else:
            value = session.to_json()
        deadline = self._deadline(session, cookie)
        self._acquire()
        try:
            self._lru_set(sid, value, deadline)
        finally:
            self._release()

    cdef object _touch(self, object sid, object session):
        cdef bytes head = None
        cdef _Slots slots = self._ours(session)
        cookie = session.cookie if slots is None else _get(session, slots.s_cookie, _COOKIE)
        if slots is not None:
            if type(cookie) is not slots.cookie_cls:
                head = session._record_head()
            elif _get(session, slots.s_encoded, _ENCODED) is not None:
                # session._record_head()
                shape = _shape(cookie, slots)
                if (<tuple>shape)[3]:
                    head = _cookie_json(cookie, shape, slots, True)
        fresh = session.to_json() if head is None else b""
        deadline = self._deadline(session, cookie)
        self._acquire()
        try:
            stored = self._lru_peek(sid)
            if stored is not None:
                if head is None:
                    value = self.splice(stored, fresh, session)
                elif (
                    PyBytes_CheckExact(stored)
                    and PyBytes_GET_SIZE(stored) >= PyBytes_GET_SIZE(head)
                    and memcmp(PyBytes_AS_STRING(stored), PyBytes_AS_STRING(head), PyBytes_GET_SIZE(head)) == 0
                ):
                    value = stored  # the same cookie: as spliced, byte for byte
                else:
                    if self.cookie_end is _cookie_end_function and PyBytes_CheckExact(stored):
                        end = _cookie_end(<const unsigned char *>PyBytes_AS_STRING(stored), PyBytes_GET_SIZE(stored))
                    else:
                        end = self.cookie_end(stored)
                    value = (
                        head + stored[end:]
                        if end != -1
                        else self.splice(stored, session.to_json(), session)
                    )
                self._lru_set(sid, value, deadline)
        finally:
            self._release()

    cdef object _deadline(self, object session, object cookie):
        cdef long long ms
        cdef int overflow
        if type(cookie) is self.cookie_cls:
            # expires.timestamp() without the datetime: the same float.
            expires_ms = _get(cookie, self._slots0.c_expires, _EXPIRES)
            if type(expires_ms) is int:
                ms = PyLong_AsLongLongAndOverflow(expires_ms, &overflow)
                if not overflow and _MIN_MS <= ms <= _MAX_MS:
                    return <double>ms / 1000.0  # exact: |ms| < 2**53
            elif expires_ms is None:
                return self._ttl_deadline()  # cookie.expires is None
            elif _MIN_MS <= expires_ms <= _MAX_MS:
                return expires_ms / 1000
        expires = cookie.expires
        if expires is None:
            return self._ttl_deadline()
        return expires.timestamp()

    cdef object _ttl_deadline(self):
        clock = self.clock
        now = _clock_namespace["now"]() if clock is None else clock()
        return now + self.ttl


cdef object _cookie_end_function = cookie_end
