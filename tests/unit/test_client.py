"""The shared Docker connection: calls off the event loop, bounded in number. No Docker."""

import asyncio
import threading
import time

import pytest

from swarmspawner.client import AsyncDocker


class SlowAPI:
    """Stands in for docker.APIClient: each call blocks its thread for a while."""

    def __init__(self, seconds=0.05):
        self.seconds = seconds
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most = 0
        self.threads = set()

    def _enter(self):
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            self.threads.add(threading.current_thread().name)

    def _leave(self):
        with self.lock:
            self.in_flight -= 1

    def services(self, **kwargs):
        self._enter()
        try:
            time.sleep(self.seconds)
            return [kwargs]
        finally:
            self._leave()

    def tasks(self, **kwargs):
        self._enter()
        self._leave()
        return ["task"]

    def remove_service(self, service_id):
        raise KeyError(service_id)


def client_with(api, max_concurrency=3):
    client = AsyncDocker(max_concurrency=max_concurrency)
    client._client = lambda: api
    return client


def test_at_most_max_concurrency_requests_in_flight():
    api = SlowAPI()
    client = client_with(api, max_concurrency=3)

    async def main():
        return await asyncio.gather(*(client.call("services", filters={"n": i}) for i in range(12)))

    results = asyncio.run(main())
    assert results == [[{"filters": {"n": i}}] for i in range(12)]
    assert api.most == 3


def test_the_event_loop_is_not_blocked_by_a_call():
    client = client_with(SlowAPI(seconds=0.3), max_concurrency=1)

    async def main():
        call = asyncio.ensure_future(client.call("services"))
        ticks = 0
        while not call.done():
            await asyncio.sleep(0.01)
            ticks += 1
        return ticks

    assert asyncio.run(main()) > 10


def test_listings_have_their_own_thread_and_are_not_queued_behind_calls():
    api = SlowAPI(seconds=0.5)
    client = client_with(api, max_concurrency=1)

    async def main():
        busy = [asyncio.ensure_future(client.call("services")) for _ in range(4)]
        started = time.monotonic()
        assert await client.watch_call("tasks") == ["task"]
        waited = time.monotonic() - started
        await asyncio.gather(*busy)
        return waited

    assert asyncio.run(main()) < 0.3
    assert any(name.startswith("swarmspawner-watch") for name in api.threads)


def test_errors_reach_the_caller():
    client = client_with(SlowAPI())
    with pytest.raises(KeyError):
        asyncio.run(client.call("remove_service", "abc"))


def test_one_shared_client_per_engine_and_tls_setting():
    a = AsyncDocker.shared("unix:///tmp/a.sock", {}, 5)
    assert AsyncDocker.shared("unix:///tmp/a.sock", {}, 5) is a
    assert AsyncDocker.shared("unix:///tmp/b.sock", {}, 5) is not a
    assert AsyncDocker.shared("unix:///tmp/a.sock", {"verify": True}, 5) is not a
