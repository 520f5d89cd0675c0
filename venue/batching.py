"""Trips to the database thread that many sockets make at once, taken together.

In a join storm every connecting socket makes the same two trips (who it is, then what it
sees). Each trip costs a hop to the process's one database thread and back, and each statement
in it a round trip to the database: per socket, that was most of what a connect cost. A `Batch`
sends the first request at once; requests that arrive while a trip is under way wait for it to
end and then go together in the next trip, whose function answers all of them with a few
statements. One socket alone waits for nobody; a storm's sockets share trips.
"""

import asyncio
import logging

from channels.db import database_sync_to_async

from venue import metrics

logger = logging.getLogger(__name__)


class Batch:
    """`await batch(request)` runs `run([request, …])` in the database thread, with whatever
    other requests came meanwhile (at most `limit`), and returns this request's result. `run`
    answers with one result per request, in order; a result that is an exception is raised to
    its caller alone. If `run` itself fails, every request of that trip gets the failure.

    `abandoned(results)`, if given, runs (in the database thread) with the results whose
    callers went away before their trip ended, so that what the trip did for them is undone.
    """

    def __init__(self, name, run, limit=64, abandoned=None):
        self.name = name  # its label in the metric of requests per trip
        self.run = run
        self.limit = limit
        self.abandoned = abandoned
        self._loop = None
        self._waiting = []
        self._running = False

    async def __call__(self, request):
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # Tests run several event loops in one process; a batch belongs to one.
            self._loop, self._waiting, self._running = loop, [], False
        future = loop.create_future()
        self._waiting.append((request, future))
        if not self._running:
            self._running = True
            loop.create_task(self._trips())
        return await future

    async def _trips(self):
        try:
            while self._waiting:
                # Whoever left while waiting (a page closed mid-storm) is not taken along.
                waiting = [(request, future) for request, future in self._waiting if not future.done()]
                batch, self._waiting = waiting[: self.limit], waiting[self.limit :]
                if batch:
                    await self._trip(batch)
        finally:
            self._running = False

    async def _trip(self, batch):
        metrics.SHARED_TRIPS.labels(self.name).observe(len(batch))
        try:
            results = await database_sync_to_async(self.run)([request for request, _future in batch])
        except Exception as error:
            for _request, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        if len(results) != len(batch):
            error = RuntimeError(f"{self.run!r} answered {len(results)} of {len(batch)} requests")
            for _request, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        lost = []
        for (_request, future), result in zip(batch, results):
            if future.done():  # its caller was cancelled meanwhile
                if not isinstance(result, BaseException):
                    lost.append(result)
            elif isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
        if lost and self.abandoned is not None:
            try:
                await database_sync_to_async(self.abandoned)(lost)
            except Exception:
                logger.exception("could not undo what a trip did for %d requests whose callers left", len(lost))
