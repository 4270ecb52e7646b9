# cython: language_level=3, auto_pickle=False, binding=False, embedsignature=True, embedsignature.format=clinic
#
# Compiled twin of fastsession/_lru_py.py (the spec; its docstring states the
# behaviour). tests/test_lru_properties.py holds the two equal.
#
# Structure: a dict key -> _Node, and a circular doubly-linked list of the same
# nodes through a sentinel, least recently used at root.next, most recent at
# root.prev. Nodes own their key and value; the list links are borrowed
# pointers, the dict holds the only owning reference.
#
# Invariants:
# * a node is in the list exactly when the dict maps its key to it; an unlinked
#   node has prev == next == NULL (a call that let other threads run, while it
#   held a node, checks this before using the node again);
# * len(dict) <= max_entries after every call;
# * deadline <= now means expired (a NaN deadline is refused: ValueError, nothing
#   changed); a write reclaims at most RECLAIM_PER_WRITE
#   expired entries from the LRU end, never the node it wrote;
# * with the default clock (time.time) every expiry decision is the exact wall
#   clock's, though most are made with Linux's cheaper coarse copy of it (see
#   _COARSE_SLACK).
#
# binding=False: methods are plain method descriptors (faster to call than
# cyfunctions); embedsignature keeps inspect.signature() working on them.
#
# Thread safety (GIL builds): no other thread can run while the structure is
# inconsistent, because between the first and last write of a change there is
# no call into Python code: the clock and the callbacks are called before or
# after, keys are exact str (hash and compare cannot run Python code), values
# exact bytes and nodes are not tracked by the cyclic GC (so allocating one
# never starts a collection that could run a finaliser). Callback tuples are
# allocated only between two complete changes. Not declared
# freethreading_compatible: a free-threaded interpreter re-enables the GIL.
#
# One C unit built from included files, each beside the pure code it mirrors:
# _lru_clock.pxi (reading the clock, settling a deadline), this file (the
# structure and the per-key operations), _lru_reclaim.pxi (_make_room, items,
# sweep and the callbacks).

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_DelItem, PyDict_GetItemWithError, PyDict_SetItem
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.object cimport PyObject
from cpython.ref cimport Py_DECREF, Py_INCREF
from cpython.unicode cimport PyUnicode_CheckExact, PyUnicode_FromObject

import time

cdef extern from "Python.h":
    Py_ssize_t PyDict_GET_SIZE(object)

include "_lru_clock.pxi"

__all__ = ["RECLAIM_PER_WRITE", "LRUCache"]

RECLAIM_PER_WRITE = 2
cdef str _NAN_DEADLINE = "deadline must be a number, not NaN"
cdef Py_ssize_t _RECLAIM = RECLAIM_PER_WRITE


@cython.final
@cython.no_gc
@cython.freelist(256)
cdef class _Node:
    cdef str key
    cdef bytes value
    cdef double deadline
    cdef PyObject* prev
    cdef PyObject* next


@cython.final
cdef class LRUCache:
    """LRUCache(max_entries, clock=time.time, on_expire=None, on_evict=None)

    Bounded LRU of ``bytes`` with a per-entry deadline in clock seconds.
    ``clock=None`` follows ``fastsession._clock.now``, looked up at each call."""

    cdef dict _map
    cdef _Node _root
    cdef Py_ssize_t _max
    cdef object _clock
    cdef object _on_expire
    cdef object _on_evict

    def __init__(self, max_entries, clock=time.time, on_expire=None, on_evict=None):
        if isinstance(max_entries, bool) or not isinstance(max_entries, int):
            raise TypeError("max_entries must be an int")
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max = max_entries
        if clock is not None and not callable(clock):
            raise TypeError("clock must be callable or None")
        self._clock = clock
        self._on_expire = on_expire
        self._on_evict = on_evict
        self._map = {}
        self._root = _Node.__new__(_Node)
        self._root.prev = self._root.next = <PyObject*>self._root

    # -- list primitives: pointer writes only ---------------------------------

    cdef inline void _unlink(self, _Node node):
        (<_Node>node.prev).next = node.next
        (<_Node>node.next).prev = node.prev
        node.prev = node.next = NULL

    cdef inline void _append(self, _Node node):
        cdef _Node last = <_Node>self._root.prev
        node.prev = <PyObject*>last
        node.next = <PyObject*>self._root
        last.next = <PyObject*>node
        self._root.prev = <PyObject*>node

    cdef inline void _move_to_end(self, _Node node):
        if self._root.prev != <PyObject*>node:
            self._unlink(node)
            self._append(node)

    cdef inline void _remove(self, _Node node):
        # The caller holds a reference, so dropping the dict's leaves node alive.
        self._unlink(node)
        PyDict_DelItem(self._map, node.key)

    cdef void _unlink_all(self):
        cdef PyObject* p = self._root.next
        cdef PyObject* nxt
        while p != <PyObject*>self._root:
            nxt = (<_Node>p).next
            (<_Node>p).prev = (<_Node>p).next = NULL
            p = nxt
        self._root.prev = self._root.next = <PyObject*>self._root

    cdef inline _Node _lookup(self, object key):
        cdef PyObject* p = PyDict_GetItemWithError(self._map, key)
        if p == NULL:
            return None
        return <_Node>p

    # -- operations -----------------------------------------------------------

    def get(self, key):
        cdef _Node node = self._lookup(key)
        if node is None:
            return None
        cdef _Now now
        _read_clock(self._clock, &now)
        if node.prev == NULL:
            return None
        if not _expired(node.deadline, &now):
            self._move_to_end(node)
            return node.value
        self._remove(node)
        if self._on_expire is not None:
            _notify(((True, node.key, node.value),), self._on_expire, self._on_evict)
        return None

    def peek(self, key):
        cdef _Node node = self._lookup(key)
        if node is None:
            return None
        cdef _Now now
        _read_clock(self._clock, &now)
        if node.prev == NULL:
            return None
        if not _expired(node.deadline, &now):
            return node.value
        self._remove(node)
        if self._on_expire is not None:
            _notify(((True, node.key, node.value),), self._on_expire, self._on_evict)
        return None

    def set(self, key, value, double deadline):
        if not PyUnicode_CheckExact(key):
            if not isinstance(key, str):
                raise TypeError("key must be a str")
            key = PyUnicode_FromObject(key)
        if not PyBytes_CheckExact(value):
            if not isinstance(value, bytes):
                raise TypeError("value must be bytes")
            value = PyBytes_FromStringAndSize(PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value))
        if deadline != deadline:
            raise ValueError(_NAN_DEADLINE)
        cdef _Now now
        _read_clock(self._clock, &now)
        cdef _Node node = self._lookup(key)
        if node is None:
            node = _Node.__new__(_Node)
            node.key = key
            node.value = value
            node.deadline = deadline
            PyDict_SetItem(self._map, key, node)
            self._append(node)
        else:
            self._move_to_end(node)
            node.deadline = deadline
            node.value = value
        victims = _make_room(self, node, &now)
        if victims is not None:
            _notify(victims, self._on_expire, self._on_evict)

    def touch(self, key, double deadline):
        return self._rewrite(key, None, None, deadline)

    def swap(self, key, expected, value, double deadline):
        if not isinstance(expected, bytes):
            raise TypeError("value and expected must be bytes")
        if not PyBytes_CheckExact(value):
            if not isinstance(value, bytes):
                raise TypeError("value and expected must be bytes")
            value = PyBytes_FromStringAndSize(PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value))
        return self._rewrite(key, expected, value, deadline)

    cdef bint _rewrite(self, object key, object expected, object value,
                       double deadline) except -1:
        # A live entry's new deadline, and its new value unless value is None, if
        # it holds expected (any, when None); an expired one is reclaimed.
        if deadline != deadline:
            raise ValueError(_NAN_DEADLINE)
        cdef _Node node = self._lookup(key)
        if node is None:
            return False
        cdef _Now now
        _read_clock(self._clock, &now)
        # Rechecked after the clock, which may have let another thread in.
        if node.prev == NULL:
            return False
        if expected is not None and not (node.value is expected or node.value == expected):
            return False
        if _expired(node.deadline, &now):
            self._remove(node)
            if self._on_expire is not None:
                _notify(((True, node.key, node.value),), self._on_expire, self._on_evict)
            return False
        if value is not None:
            node.value = value
        node.deadline = deadline
        self._move_to_end(node)
        victims = _make_room(self, node, &now)
        if victims is not None:
            _notify(victims, self._on_expire, self._on_evict)
        return True

    def delete(self, key):
        cdef _Node node = self._lookup(key)
        if node is None:
            return False
        self._remove(node)
        return True

    def items(self):
        return _items(self)

    def sweep(self, Py_ssize_t limit):
        return _sweep(self, limit)

    def clear(self):
        self._unlink_all()
        self._map.clear()

    def __len__(self):
        return PyDict_GET_SIZE(self._map)


include "_lru_reclaim.pxi"
