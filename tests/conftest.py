import gc
import sys

import pytest

# Keep compiled bytecode even where PYTHONDONTWRITEBYTECODE is set: each test process imports every module again, and
# without the cache each compiles them all from source (4 s per process).
sys.dont_write_bytecode = False

pytest_plugins = ["tests.fixtures.db", "tests.sandbox.plugin"]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Move everything imported so far out of the garbage collector's sight: it lives until the process ends."""
    # Full collections kept walking the 200,000 objects of the imported libraries: 17% of the time of a sample of
    # e2e and unit tests run in one process, 2% of a whole parallel run. Frozen, they walk only what tests made.
    gc.collect()
    gc.freeze()
