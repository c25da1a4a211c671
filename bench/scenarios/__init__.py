"""The scenarios, in the order they run and appear in the table. Each is a function of the
`Bench` that appends its rows (and notes) to it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, List

from . import cold, concurrency, footprint, identities, unreachable, warm

if TYPE_CHECKING:
    from ..core import Bench

ALL: List[Callable[[Bench], None]] = [
    warm.measure_warm,  # primes each binary's own warm cache, used by footprint too
    identities.measure_identities,
    cold.measure_cold,
    footprint.measure_version,
    footprint.measure_rss,
    footprint.measure_size,
    footprint.measure_instructions,
    concurrency.measure_stampede,
    concurrency.measure_lost,
    unreachable.measure_refused,
    unreachable.measure_blackhole,
]
