# Compiled twin of fastsession/_sid_py.py (the spec; its docstring states the
# invariants): the Cookie header(s) of a request -> the verified session id.

cdef Py_ssize_t _VERIFIED_MAX = 4096
cdef Py_ssize_t _HEADERS_MAX = 1024
cdef Py_ssize_t _HEADER_LEN_MAX = 1024
VERIFIED_MAX = _VERIFIED_MAX
HEADERS_MAX = _HEADERS_MAX
HEADER_LEN_MAX = _HEADER_LEN_MAX


cdef class SidReader:
    """SidReader(name, lookup, unsign)

    Reads the session id from Cookie headers, for one cookie name and signer."""

    cdef readonly str name
    cdef readonly object lookup
    cdef readonly object unsign
    cdef readonly dict verified
    cdef readonly dict headers

    def __init__(self, name, lookup, unsign):
        self.name = name
        self.lookup = lookup
        self.unsign = unsign
        self.verified = {}
        self.headers = {}

    cpdef object read(self, object header):
        if not header:
            return None
        sid = self.headers.get(header)
        if sid is None:
            sid = self.verify(header)
            if sid is not None:
                self.remember(header, sid)
        return sid

    cpdef object read_asgi(self, object headers):
        cdef list found = []
        if headers:
            for name, value in headers:
                if name == b"cookie":
                    found.append(value)
        if not found:
            return None
        if len(found) == 1:
            single = found[0]
            if not single:
                return None
            sid = self.headers.get(single)
            if sid is None:
                sid = self.verify(bytes(single).decode("latin-1"))
                if sid is not None:
                    self.remember(bytes(single), sid)
            return sid
        return self.read("; ".join([bytes(v).decode("latin-1") for v in found]))

    cpdef object verify(self, str header):
        value = self.lookup(header, self.name)
        if value is None:
            return None
        cdef dict verified = self.verified
        sid = verified.get(value)
        if sid is None:
            if not value.startswith("s:"):
                return None
            sid = self.unsign(value[2:])
            if not sid:
                return None
            if len(verified) >= _VERIFIED_MAX:
                verified.clear()
            verified[value] = sid
        return sid

    cpdef remember(self, object header, str sid):
        if len(header) <= _HEADER_LEN_MAX:
            if len(self.headers) >= _HEADERS_MAX:
                self.headers.clear()
            self.headers[header] = sid
