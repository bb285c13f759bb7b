"""Example functions for pooltune's `python` workload (`kind = "python"`): one task is one call.

Each shows a different answer to "how many workers?" on CPython with a GIL:

- `sha256_block`: hashing a big block in C. hashlib releases the GIL while it hashes more
  than 2 KiB, so a ThreadPoolExecutor's threads run on every core: threads scale.
- `pure_loop`: a loop of Python bytecode. Only the thread holding the GIL runs bytecode, so
  threads stay flat at one core's throughput; processes (one interpreter each) scale.
- `sleep_ms`: waiting, as a network call or a disk read does. A sleeping thread releases the
  GIL, so threads scale far past the cores, up to wait / compute per call.

Presets: presets/python-hash.toml, python-loop.toml, python-sleep.toml.
"""

import hashlib
import time

# One block per size, built once per process: the call measures the hashing, not the building.
_BLOCKS = {}


def sha256_block(size_bytes):
    """The SHA-256 of a block of `size_bytes` bytes (hashlib releases the GIL while hashing)."""
    block = _BLOCKS.get(size_bytes)
    if block is None:
        block = bytes(i % 251 for i in range(size_bytes))
        _BLOCKS[size_bytes] = block
    return hashlib.sha256(block).hexdigest()


def pure_loop(iterations):
    """`iterations` steps of a linear congruential generator in pure Python (holds the GIL)."""
    x = 1
    for _ in range(iterations):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
    return x


def sleep_ms(milliseconds):
    """Waits `milliseconds` ms, as a call to a slow service would (the GIL is released)."""
    time.sleep(milliseconds / 1000.0)
    return milliseconds
