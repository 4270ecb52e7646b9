# Compiled twin of fastsession/_logs_py.py (the spec): the request kernel's log
# lines on the "fastsession" logger.

cdef object _logger = logging.getLogger("fastsession")
cdef object _DEBUG = logging.DEBUG
# For _debugging(): the public ``level``/``parent`` attributes of our logger and
# of the root logger, read from their instance dicts.
cdef dict _logger_vars = vars(_logger)
cdef object _root_logger = logging.getLogger()
cdef dict _root_vars = vars(_root_logger)
cdef bint _plain_logger = (
    type(_logger).isEnabledFor is logging.Logger.isEnabledFor
    and type(_logger).getEffectiveLevel is logging.Logger.getEffectiveLevel
)


cdef void gone(object sid) except *:
    _logger.warning(
        "session %s is no longer in the store (destroyed or expired meanwhile): "
        "its changes are dropped and no cookie is set",
        sid,
    )


cdef object load_failed(object exc):
    _logger.error("cannot load session: store get() failed: %r", exc)
    return store_error("get", exc)


cdef object store_failed(str op, object exc):
    _logger.error("cannot store session: store %s() failed: %r", op, exc)
    return store_error(op, exc)


cdef inline void debug(str msg, object arg) except *:
    if _debugging():
        _logger.debug(msg, arg)


cdef bint _debugging() except -1:
    """``logger.isEnabledFor(DEBUG)``, as the pure twin asks it.

    Its usual answer, no, is found without a Python-level call: when the
    effective level (Logger.getEffectiveLevel: the logger's own ``level``, or at
    NOTSET its parent's, here the root's) is above DEBUG, isEnabledFor is False
    whatever else it checks. Any other case asks the logger.
    """
    cdef PyObject *level
    cdef PyObject *parent
    if _plain_logger:
        level = PyDict_GetItemWithError(_logger_vars, "level")
        if level != NULL and type(<object>level) is int and <object>level == 0:
            parent = PyDict_GetItemWithError(_logger_vars, "parent")
            level = NULL
            if parent != NULL and <object>parent is _root_logger:
                level = PyDict_GetItemWithError(_root_vars, "level")
        if level != NULL and type(<object>level) is int and <object>level > 10:
            return False
    return _logger.isEnabledFor(_DEBUG)
