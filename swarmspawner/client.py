"""The one Docker connection a hub process shares, called without blocking the event loop.

docker-py is synchronous. Every call goes through a small thread pool, so the hub's
event loop never waits on the engine and at most ``max_concurrency`` requests are in
flight, however many users start at once. The reflector's listings go through a thread of
their own, so that a burst of creates never delays the view every start is waiting on.
"""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import docker
import docker.tls


class AsyncDocker:
    _shared = {}
    _shared_lock = threading.Lock()

    def __init__(self, base_url=None, tls_config=None, max_concurrency=10, timeout=60):
        self.base_url = base_url
        self.tls_config = tls_config or {}
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        self._api = None
        self._api_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(
            max_workers=max_concurrency, thread_name_prefix="swarmspawner-docker"
        )
        self._watch_executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="swarmspawner-watch"
        )

    @classmethod
    def shared(cls, base_url=None, tls_config=None, max_concurrency=10):
        """One client per engine address and TLS setting in this process."""
        key = (base_url, repr(sorted((tls_config or {}).items())))
        with cls._shared_lock:
            if key not in cls._shared:
                cls._shared[key] = cls(base_url, tls_config, max_concurrency)
            return cls._shared[key]

    def _client(self):
        # Built lazily in a worker thread: version negotiation is itself a request.
        with self._api_lock:
            if self._api is None:
                kwargs = docker.utils.kwargs_from_env()
                if self.base_url:
                    kwargs["base_url"] = self.base_url
                if self.tls_config:
                    kwargs["tls"] = docker.tls.TLSConfig(**self.tls_config)
                self._api = docker.APIClient(
                    version="auto",
                    timeout=self.timeout,
                    max_pool_size=self.max_concurrency + 1,
                    **kwargs,
                )
            return self._api

    def _call_sync(self, method, args, kwargs):
        return getattr(self._client(), method)(*args, **kwargs)

    async def call(self, method, *args, **kwargs):
        """Run ``APIClient.<method>(*args, **kwargs)`` in the pool and await its result."""
        return await self._run(self._executor, method, args, kwargs)

    async def watch_call(self, method, *args, **kwargs):
        """Like :meth:`call`, in the watcher's own thread (for the reflector's listings)."""
        return await self._run(self._watch_executor, method, args, kwargs)

    async def service_logs(self, service_id, tail):
        """A service's last ``tail`` lines of output (stdout and stderr), as text."""
        def read():
            chunks = self._client().service_logs(
                service_id, stdout=True, stderr=True, tail=tail, timestamps=False)
            return b"".join(chunks).decode("utf8", "replace")

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, read)

    def events(self, filters):
        """The engine's event stream (blocking; decoded dicts): for a thread of its own."""
        return self._client().events(filters=filters, decode=True)

    async def _run(self, executor, method, args, kwargs):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, partial(self._call_sync, method, args, kwargs))
