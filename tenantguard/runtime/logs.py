"""What the guard writes to its log: where in the application, how often, and nothing private.

An operator reading a report-mode log needs the application's line that sent the statement (not
asyncpg's or the guard's), one line per distinct statement and finding per interval with a count
(not one per request), and no patient data: bound values and literals stay out unless asked for.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import OrderedDict
from collections.abc import Callable
from types import FrameType

import asyncpg

import tenantguard

__all__ = ["ReportLimiter", "call_site", "callers"]

_INTERNAL = tuple(
    os.path.dirname(module.__file__) + os.sep
    for module in (asyncpg, tenantguard)
    if module.__file__ is not None
)


def call_site(frame: FrameType | None = None) -> str:
    """`file:line` of the first frame outside asyncpg and tenantguard (the application's call)."""
    frame = frame or sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_INTERNAL):
        frame = frame.f_back
    if frame is None:
        return "<unknown>"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


# frames that say nothing of the application: the event loop's
_LOOP = (os.path.dirname(asyncio.__file__) + os.sep,)


def callers(frame: FrameType | None = None, limit: int = 3) -> list[str]:
    """`file:line` of the application's frames above its call (`call_site`), nearest first, at
    most `limit`: the call site of a project's own wrapper (`db.fetch(sql)`) is the wrapper's
    line for every statement; these say which code called it."""
    frame = frame or sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_INTERNAL):
        frame = frame.f_back
    found: list[str] = []
    frame = frame.f_back if frame is not None else None
    while frame is not None and len(found) < limit:
        name = frame.f_code.co_filename
        if not name.startswith(_INTERNAL + _LOOP):
            found.append(f"{name}:{frame.f_lineno}")
        frame = frame.f_back
    return found


class ReportLimiter:
    """Decides which occurrences of a finding get a log line: the first of each key, then at
    most one per `interval` seconds carrying how many occurred since the last line.

    Keys are bounded (`max_keys`, oldest forgotten first) so that distinct statements cannot
    grow it without limit. `flush()` hands out the counts not yet logged (at shutdown).
    """

    __slots__ = ("_clock", "_seen", "interval", "max_keys")

    def __init__(
        self,
        interval: float = 60.0,
        max_keys: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval < 0:
            raise ValueError("report_interval must be >= 0 seconds")
        self.interval = interval
        self.max_keys = max_keys
        self._clock = clock
        self._seen: OrderedDict[tuple[str, ...], list[float]] = OrderedDict()

    def note(self, key: tuple[str, ...]) -> int:
        """Counts one occurrence; returns how many to report now (0: stay silent)."""
        now = self._clock()
        entry = self._seen.get(key)
        if entry is None:
            self._seen[key] = [now, 0.0]
            if len(self._seen) > self.max_keys:
                self._seen.popitem(last=False)
            return 1
        entry[1] += 1
        if now - entry[0] < self.interval:
            return 0
        count = int(entry[1])
        entry[0], entry[1] = now, 0.0
        self._seen.move_to_end(key)
        return count

    def flush(self) -> list[tuple[tuple[str, ...], int]]:
        """The keys with occurrences not yet reported, and their counts; resets them."""
        pending = [(key, int(entry[1])) for key, entry in self._seen.items() if entry[1]]
        for key, _ in pending:
            self._seen[key][1] = 0.0
        return pending
