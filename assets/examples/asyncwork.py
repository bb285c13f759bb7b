"""Example coroutine functions for pooltune's `python_asyncio` pool: one task is one `await`.

The pool awaits an `async def` function on one asyncio event loop, at most N calls in flight
(an `asyncio.Semaphore(N)`). All of them share one thread:

- `sleep_ms`: awaits `asyncio.sleep`, as an async client awaits a network reply. While a call
  waits the loop runs the others, so throughput follows N / wait far past the cores, until the
  loop's own work per call fills its one core (thousands in flight).
- `pure_loop`: computes without awaiting. Nothing else runs until it returns, so throughput
  is flat at one call at a time whatever N is: coroutines do not compute in parallel.

Presets: presets/python-asyncio-sleep.toml, python-asyncio-compute.toml.
"""

import asyncio


async def sleep_ms(milliseconds):
    """Awaits `milliseconds` ms, as a call to a slow service would, letting other calls run."""
    await asyncio.sleep(milliseconds / 1000.0)
    return milliseconds


async def pure_loop(iterations):
    """`iterations` steps of a linear congruential generator in pure Python, never awaiting."""
    x = 1
    for _ in range(iterations):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
    return x
