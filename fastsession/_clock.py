"""Wall-clock time in seconds, in one place so tests can freeze it."""

import time

now = time.time
