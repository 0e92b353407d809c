"""
Running calls concurrently for the race tests: every call in its own thread, so on its own
database connection (Django keeps one per thread), released together by a barrier once
each is connected.
"""

import json
import queue
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.test import Client

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


Request = Callable[[Client], Any]


@dataclass(frozen=True)
class Answer:
    status: int | None
    content: bytes
    # The type of an exception that escaped the request, if one did.
    error: str | None = None

    def json(self) -> Any:
        return json.loads(self.content)


class Racers:
    """
    Long-lived threads, each with its own database connection, that run one request each
    per race, all released together by a barrier once every one of them is connected.

    The threads (and so the connections) live for the whole test, so that fifty races do not
    spend their time opening 1,600 connections.
    """

    def __init__(self, size: int) -> None:
        self._jobs: list[queue.SimpleQueue[tuple[threading.Barrier, Request] | None]] = [
            queue.SimpleQueue() for _ in range(size)
        ]
        self._answers: list[queue.SimpleQueue[Answer]] = [queue.SimpleQueue() for _ in range(size)]
        self._threads = [
            threading.Thread(target=self._work, args=(i,), name=f"racer-{i}", daemon=True)
            for i in range(size)
        ]
        for thread in self._threads:
            thread.start()

    def _work(self, index: int) -> None:
        try:
            while (job := self._jobs[index].get()) is not None:
                barrier, request = job
                self._answers[index].put(self._run(barrier, request))
        finally:
            connection.close()

    @staticmethod
    def _run(barrier: threading.Barrier, request: Request) -> Answer:
        try:
            # Connect before the barrier so that the requests collide in the database,
            # not one connection set-up apart.
            connection.ensure_connection()
            barrier.wait(timeout=30)
            response = request(Client())
        except BaseException as exc:
            barrier.abort()
            return Answer(None, b"", type(exc).__name__)
        return Answer(response.status_code, response.content)

    def race(self, requests: list[Request]) -> list[Answer]:
        """Run the requests concurrently, one per thread; return the answers in order."""
        assert len(requests) <= len(self._threads)
        barrier = threading.Barrier(len(requests))
        for jobs, request in zip(self._jobs, requests, strict=False):
            jobs.put((barrier, request))
        return [answers.get(timeout=60) for answers in self._answers[: len(requests)]]

    def close(self) -> None:
        for jobs in self._jobs:
            jobs.put(None)
        for thread in self._threads:
            thread.join(timeout=10)
        assert not any(thread.is_alive() for thread in self._threads), "a racer hung"


def assert_no_failures(answers: list[Answer]) -> None:
    errors = Counter(answer.error for answer in answers if answer.error)
    server_errors = Counter(a.status for a in answers if a.status is not None and a.status >= 500)
    assert not errors, f"exceptions escaped: {dict(errors)}"
    assert not server_errors, f"server errors: {dict(server_errors)}"
