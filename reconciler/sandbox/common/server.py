"""``StoredSandbox``: an ``AppServer`` whose state is a ``JsonTables`` store.

The store lives in ``<data_dir>/<name>.sqlite3`` when a data directory is given (a restart
resumes it), else in a temporary directory removed by ``stop()``. A store without data is
seeded by the subclass's ``_seed()`` (called with the store's lock held); ``credentials`` is
the subclass's ``_creds()`` read under the lock.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Generic, TypeVar

from reconciler.sandbox.common.faults import quiet_drops
from reconciler.sandbox.common.store import JsonTables
from reconciler.sandbox.host import AppServer

S = TypeVar("S", bound=JsonTables)

quiet_drops()  # an injected drop is the point of the fault, not an error to log


class StoredSandbox(AppServer, Generic[S]):
    """See the module docstring. Subclasses call ``__init__`` (which builds and seeds the
    store), then build their app on ``self.store`` and ``serve()`` it."""

    def __init__(
        self,
        port: int,
        host: str,
        name: str,
        data_dir: Path | None,
        store: Callable[[Path], S],
    ) -> None:
        super().__init__(port, host, name=name)
        self._tmp: Path | None = None
        if data_dir is None:
            self._tmp = Path(tempfile.mkdtemp(prefix=f"{name}-sandbox-"))
            data_dir = self._tmp
        data_dir.mkdir(parents=True, exist_ok=True)
        self.store: S = store(data_dir / f"{name}.sqlite3")
        with self.store.lock:
            if self.store.empty:
                self._seed()

    def _seed(self) -> None:
        """Reset the store to the sandbox's starting organisation and save it."""
        raise NotImplementedError

    def _creds(self) -> dict[str, str]:
        """The environment variables a client of this sandbox needs (URL and credentials)."""
        raise NotImplementedError

    @property
    def credentials(self) -> Mapping[str, str]:
        with self.store.lock:
            return self._creds()

    def release(self) -> None:
        """Close the store (saving it); remove the temporary directory, if any."""
        with self.store.lock:
            self.store.close()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
