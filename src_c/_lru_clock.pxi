# The clock of fastsession._lru_c, mirroring _lru_py.py's
# `now = _clock.now() if clock is None else clock()` at the top of each call.
# Included by _lru_c.pyx before LRUCache.
#
# A call reads the clock once, before it changes anything (any clock but time.time
# is Python code, which may let other threads run), into a _Now; _expired settles
# each deadline against it. With time.time the reading is made in C, and mostly
# from Linux's coarse clock (see _COARSE_SLACK), so every decision is the exact
# wall clock's at the cost of the coarse one.

import time

from . import _clock as _clock_module

# Read straight from the module's namespace: cheaper than getattr at each call.
cdef dict _clock_namespace = _clock_module.__dict__
cdef object _time_time = time.time

cdef extern from "<time.h>" nogil:
    """
    static double fastsession_wallclock(void) {
        struct timespec ts;
        if (timespec_get(&ts, TIME_UTC) == 0) return -1.0;
        return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
    }
    #if defined(CLOCK_REALTIME_COARSE)
    #define FASTSESSION_HAVE_COARSE 1
    static double fastsession_coarse_clock(void) {
        struct timespec ts;
        if (clock_gettime(CLOCK_REALTIME_COARSE, &ts) != 0) return fastsession_wallclock();
        return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
    }
    #else
    #define FASTSESSION_HAVE_COARSE 0
    #define fastsession_coarse_clock fastsession_wallclock
    #endif
    """
    double fastsession_wallclock()
    double fastsession_coarse_clock()
    const bint FASTSESSION_HAVE_COARSE

# The wall clock read at each call is the costliest part of a get. Linux keeps a
# coarse copy (updated every tick, a few ms behind) that is several times
# cheaper: it settles every deadline more than _COARSE_SLACK ahead of it, and
# only a deadline closer than that needs the exact clock. Decisions are those of
# the exact clock; the cost is that of the coarse one for sessions not about to
# expire.
cdef double _COARSE_SLACK = 1.0

cdef struct _Now:
    double t
    bint exact


cdef inline bint _expired(double deadline, _Now* now) noexcept nogil:
    if not now.exact and deadline <= now.t + _COARSE_SLACK:
        now.t = fastsession_wallclock()
        now.exact = True
    return deadline <= now.t


cdef inline object _clock_fn(object clock):
    # clock=None: fastsession._clock.now, looked up at each call.
    if clock is not None:
        return clock
    cdef PyObject* now = PyDict_GetItemWithError(_clock_namespace, "now")
    if now == NULL:
        return _clock_module.now  # raises the AttributeError
    return <object>now


cdef inline int _read_clock(object clock, _Now* now) except -1:
    # time.time is read in C: cheaper, and no Python call. Any other clock
    # may let other threads run: callers read it before changing anything,
    # and recheck what they hold afterwards.
    clock = _clock_fn(clock)
    if clock is not _time_time:
        now.t = clock()
        now.exact = True
    elif FASTSESSION_HAVE_COARSE:
        now.t = fastsession_coarse_clock()
        now.exact = False
    else:
        now.t = fastsession_wallclock()
        now.exact = True
    return 0


cdef inline double _exact_now(object clock) except? -1.0:
    clock = _clock_fn(clock)
    if clock is _time_time:
        return fastsession_wallclock()
    return clock()
