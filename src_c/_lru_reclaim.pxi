# Reclaiming and reporting in fastsession._lru_c, mirroring _lru_py.py's
# _make_room, items, sweep and _notify. Included by _lru_c.pyx after LRUCache,
# whose structure (the dict and the node list; see _lru_c.pyx) these walk.
#
# Each removes nodes without calling Python code (the structure stays consistent
# for other threads: see _lru_c.pyx), keeps what it removed alive in a C array or
# a victims list, and only then builds tuples and runs the callbacks (_notify).


cdef list _make_room(LRUCache cache, _Node written, _Now* now):
    # Right after `written` became most recent: up to _RECLAIM expired entries
    # from the least recently used end, then evictions while over the bound.
    cdef list victims = None
    cdef Py_ssize_t reclaimed = 0
    cdef PyObject* p
    cdef _Node tail
    cdef bint expired
    while True:
        p = cache._root.next
        if p == <PyObject*>written or p == <PyObject*>cache._root:
            break
        tail = <_Node>p
        if _expired(tail.deadline, now):
            if reclaimed >= _RECLAIM and PyDict_GET_SIZE(cache._map) <= cache._max:
                break
            reclaimed += 1
            expired = True
        elif PyDict_GET_SIZE(cache._map) > cache._max:
            expired = False
        else:
            break
        cache._remove(tail)
        # The structure is consistent here: allocating may let other threads run.
        if (cache._on_expire if expired else cache._on_evict) is not None:
            if victims is None:
                victims = []
            victims.append((expired, tail.key, tail.value))
    return victims


cdef list _items(LRUCache cache):
    cdef double now = _exact_now(cache._clock)
    cdef Py_ssize_t n = PyDict_GET_SIZE(cache._map), i, nlive = 0, first_expired = n
    cdef PyObject** held = <PyObject**>PyMem_Malloc((n + 1) * sizeof(PyObject*))
    if held == NULL:
        raise MemoryError()
    cdef PyObject* p = cache._root.next
    cdef _Node node
    # Sort every node into live (from the front, in order) or expired (from
    # the back, removed) without Python code; build the result afterwards.
    while p != <PyObject*>cache._root:
        node = <_Node>p
        p = node.next
        Py_INCREF(node)
        if node.deadline > now:
            held[nlive] = <PyObject*>node
            nlive += 1
        else:
            first_expired -= 1
            held[first_expired] = <PyObject*>node
            cache._remove(node)
    live = []
    expired = [] if cache._on_expire is not None and first_expired < n else None
    try:
        for i in range(nlive):
            node = <_Node>held[i]
            live.append((node.key, node.value))
        if expired is not None:
            for i in range(n - 1, first_expired - 1, -1):
                node = <_Node>held[i]
                expired.append((True, node.key, node.value))
    finally:
        for i in range(nlive):
            Py_DECREF(<object>held[i])
        for i in range(first_expired, n):
            Py_DECREF(<object>held[i])
        PyMem_Free(held)
    if expired:
        _notify(expired, cache._on_expire, cache._on_evict)
    return live


cdef Py_ssize_t _sweep(LRUCache cache, Py_ssize_t limit) except -1:
    if limit <= 0:
        return 0
    cdef double now = _exact_now(cache._clock)
    cdef Py_ssize_t n = PyDict_GET_SIZE(cache._map), i, count = 0
    if limit < n:
        n = limit
    cdef PyObject** held = <PyObject**>PyMem_Malloc((n + 1) * sizeof(PyObject*))
    if held == NULL:
        raise MemoryError()
    cdef PyObject* p = cache._root.next
    cdef _Node node
    while p != <PyObject*>cache._root and count < n:
        node = <_Node>p
        p = node.next
        if node.deadline <= now:
            Py_INCREF(node)
            held[count] = <PyObject*>node
            count += 1
            cache._remove(node)
    expired = [] if cache._on_expire is not None else None
    try:
        if expired is not None:
            for i in range(count):
                node = <_Node>held[i]
                expired.append((True, node.key, node.value))
    finally:
        for i in range(count):
            Py_DECREF(<object>held[i])
        PyMem_Free(held)
    if expired:
        _notify(expired, cache._on_expire, cache._on_evict)
    return count


cdef int _notify(victims, on_expire, on_evict) except -1:
    # Every callback runs, in removal order; then the first exception propagates.
    first = None
    for expired, key, value in victims:
        callback = on_expire if expired else on_evict
        if callback is None:
            continue
        try:
            callback(key, value)
        except Exception as exc:
            if first is None:
                first = exc
    if first is not None:
        raise first
    return 0
