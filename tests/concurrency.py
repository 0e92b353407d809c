"""
Running calls concurrently for the race tests: every call in its own thread, so on its own
database connection (Django keeps one per thread), released together by a barrier once
each is connected.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection

RACERS = 32


@dataclass(frozen=True)
class Outcome:
    value: Any = None
    error: BaseException | None = None


def race(call: Callable[[], Any], racers: int = RACERS, *, database: bool = True) -> list[Outcome]:
    """
    Run ``call`` in ``racers`` threads released together; return what each got. With
    ``database`` off the threads touch no database connection (clients of a server that
    runs in another process).
    """
    barrier = threading.Barrier(racers)
    outcomes: list[Outcome | None] = [None] * racers

    def run(index: int) -> None:
        try:
            try:
                # Connect first, so that the calls collide in the database, not one
                # connection set-up apart.
                if database:
                    connection.ensure_connection()
                barrier.wait(timeout=30)
            except BaseException as exc:
                # Only a failure to start breaks the barrier: once released, a racer that is
                # quick to fail must not break it under one that has not woken up yet.
                barrier.abort()
                outcomes[index] = Outcome(error=exc)
                return
            try:
                outcomes[index] = Outcome(value=call())
            except BaseException as exc:
                outcomes[index] = Outcome(error=exc)
        finally:
            if database:
                connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a racer hung"
    return [outcome for outcome in outcomes if outcome is not None]
