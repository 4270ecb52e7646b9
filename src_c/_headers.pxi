# Compiled twin of fastsession/_headers_py.py (the spec): the response header
# edits, the Set-Cookie line and cache_safe.

# What cache_safe reads and writes (see the pure twin): bytes for ASGI, str for WSGI.
cdef tuple _ASGI_WORDS = (
    b"vary", b"cache-control", b"set-cookie", b"cookie", b"*", b",",
    b"Cookie", b"private", b"vary", b"cache-control",
)
cdef tuple _WSGI_WORDS = (
    "vary", "cache-control", "set-cookie", "cookie", "*", ",",
    "Cookie", "private", "Vary", "Cache-Control",
)


cdef inline dict _copy(object message):
    # dict(message), without the call through the type for a plain dict.
    return PyDict_Copy(message) if type(message) is dict else dict(message)


cpdef dict with_set_cookie(object message, str line):
    """An ASGI start message with a Set-Cookie header added."""
    cdef dict out = _copy(message)
    out["headers"] = [*out.get("headers", ()), (b"set-cookie", line.encode("latin-1"))]
    return out


cpdef list cache_safe(list headers, tuple words):
    """``headers`` (changed in place) made safe for shared caches: Vary: Cookie,
    and Cache-Control: private beside a Set-Cookie when there is none."""
    vary, control, set_cookie, cookie, star, comma, token, private, vary_out, control_out = words
    cdef Py_ssize_t vary_at = -1
    cdef Py_ssize_t i, n
    cdef bint varies = False
    cdef bint controlled = False
    cdef bint sets_cookie = False
    for i in range(len(headers)):
        name, value = headers[i]
        n = len(name)
        if n != 4 and n != 10 and n != 13:
            continue  # not vary, set-cookie or cache-control: not lowered (lower() keeps
                      # the length of the names it could make equal to them)
        name = name.lower()
        if name == vary:
            if vary_at < 0:
                vary_at = i
            for part in value.split(comma):
                part = part.strip().lower()
                if part == cookie or part == star:
                    varies = True
        elif name == control:
            controlled = True
        elif name == set_cookie:
            sets_cookie = True
    if not varies:
        if vary_at < 0:
            headers.append((vary_out, token))
        else:
            name, value = headers[vary_at]
            headers[vary_at] = (name, value + comma + token if value.strip() else token)
    if sets_cookie and not controlled:
        headers.append((control_out, private))
    return headers
