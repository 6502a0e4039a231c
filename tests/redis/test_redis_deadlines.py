"""One timer per loop bounding many commands (tenantguard.redis.deadlines): pure asyncio, the
commands are sleeps and futures; the Redis side is in test_redis.py."""

from __future__ import annotations

import asyncio

import pytest

from tenantguard.redis.deadlines import Deadlines


async def test_a_command_in_time_returns_its_result_and_leaves_no_cancellation() -> None:
    deadlines = Deadlines(0.05)
    for number in range(30):  # 0.3 s of commands: the timer fires several times among them
        assert await deadlines.run(asyncio.sleep(0.01, number)) == number
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0
    await asyncio.sleep(0.1)  # nothing pending is delivered to the caller later


async def test_a_late_command_raises_timeout_error_near_its_own_deadline() -> None:
    deadlines = Deadlines(0.2)
    loop = asyncio.get_running_loop()

    async def late(delay: float) -> float:
        await asyncio.sleep(delay)  # started `delay` after the first
        started = loop.time()
        with pytest.raises(TimeoutError):
            await deadlines.run(asyncio.sleep(10))
        return loop.time() - started

    # staggered starts: each is cut at its own start + 0.2 s, not at the first one's deadline
    took = await asyncio.gather(*(late(0.03 * i) for i in range(8)))
    assert all(0.19 <= t < 1.0 for t in took), took  # not the first one's deadline, not 10 s


async def test_late_and_quick_commands_mixed() -> None:
    deadlines = Deadlines(0.15)

    async def quick() -> str:
        return await deadlines.run(asyncio.sleep(0.01, "quick"))

    async def stuck() -> str:
        return await deadlines.run(asyncio.sleep(5, "stuck"))

    results = await asyncio.gather(
        stuck(), quick(), stuck(), quick(), quick(), return_exceptions=True
    )
    assert [type(r).__name__ if isinstance(r, BaseException) else r for r in results] == [
        "TimeoutError",
        "quick",
        "TimeoutError",
        "quick",
        "quick",
    ]


async def test_a_cancellation_from_outside_is_not_turned_into_a_timeout() -> None:
    deadlines = Deadlines(5)
    task = asyncio.create_task(deadlines.run(asyncio.sleep(10)))
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # and the deadline machinery keeps working afterwards
    assert await deadlines.run(asyncio.sleep(0, "after")) == "after"


async def test_outside_cancellation_at_the_deadline_goes_on_as_cancellation() -> None:
    """Cancelled by its caller and by its deadline at once: the caller's cancellation wins
    (asyncio.timeout's rule), not a TimeoutError the caller did not ask about."""
    deadlines = Deadlines(0.1)
    loop = asyncio.get_running_loop()

    async def command() -> None:
        await deadlines.run(asyncio.sleep(10))

    task = asyncio.create_task(command())
    # the caller cancels exactly when the deadline's timer fires
    loop.call_at(loop.time() + 0.1, task.cancel)
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_command_that_swallows_nothing_is_cut_even_if_it_retries() -> None:
    """An operation that catches TimeoutError-like failures and retries (as redis-py's Retry
    does) is still cut: the bound is a cancellation, which it does not retry."""
    deadlines = Deadlines(0.1)

    async def retrying() -> None:
        while True:
            try:
                await asyncio.sleep(0.03)
                raise ConnectionError("refused")
            except ConnectionError:
                continue

    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TimeoutError):
        await deadlines.run(retrying())
    assert loop.time() - started < 1.0  # the sleeps go on for ever without the bound


def test_one_deadlines_object_serves_successive_event_loops() -> None:
    deadlines = Deadlines(0.1)

    async def once() -> None:
        assert await deadlines.run(asyncio.sleep(0, 1)) == 1
        with pytest.raises(TimeoutError):
            await deadlines.run(asyncio.sleep(5))

    asyncio.run(once())
    asyncio.run(once())  # a new loop: its own timer, nothing left from the first


async def test_a_command_cut_that_ends_in_another_error_leaves_the_task_uncancelled() -> None:
    """A client that turns the cancellation into an error of its own (as some wrappers do):
    the deadline's cancellation is still taken back, as asyncio.timeout does — else the task
    stays 'being cancelled' and, say, Ctrl-C under asyncio.run becomes a CancelledError."""
    deadlines = Deadlines(0.05)

    async def converting() -> None:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            raise ConnectionError("connection closed") from None

    with pytest.raises(ConnectionError):
        await deadlines.run(converting())
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0
    await asyncio.sleep(0.01)  # and no cancellation is delivered later


def test_event_loops_are_not_kept_alive() -> None:
    import gc
    import weakref

    deadlines = Deadlines(0.05)
    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    async def once() -> None:
        loops.append(weakref.ref(asyncio.get_running_loop()))
        await deadlines.run(asyncio.sleep(0))
        with pytest.raises(TimeoutError):
            await deadlines.run(asyncio.sleep(1))

    for _ in range(20):
        asyncio.run(once())
    gc.collect()
    assert sum(ref() is not None for ref in loops) == 0


def test_outside_a_task_it_says_so() -> None:
    """A coroutine driven by hand from a loop's callback has no task to cancel: a clear error,
    and the operation is closed, not left never awaited."""
    import inspect

    deadlines = Deadlines(1)
    operation = asyncio.sleep(0)
    seen: list[str] = []

    def callback() -> None:
        coroutine = deadlines.run(operation)
        try:
            coroutine.send(None)
        except RuntimeError as error:
            seen.append(str(error))

    async def main() -> None:
        asyncio.get_running_loop().call_soon(callback)
        await asyncio.sleep(0.01)

    asyncio.run(main())
    assert len(seen) == 1 and "run it in an asyncio task" in seen[0]
    assert inspect.getcoroutinestate(operation) == inspect.CORO_CLOSED


def test_the_timeout_is_fixed_and_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Deadlines(0)
    with pytest.raises(AttributeError):
        Deadlines(1).timeout = 2  # type: ignore[misc]
