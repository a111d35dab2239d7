import gc
import sys

import pytest

# Keep compiled bytecode even where PYTHONDONTWRITEBYTECODE is set: each test process imports every module again, and
# without the cache each compiles them all from source (4 s per process).
sys.dont_write_bytecode = False

pytest_plugins = ["tests.fixtures.db", "tests.sandbox.plugin"]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Move everything imported so far out of the garbage collector's sight: it lives until the process ends."""
    # The full collections that kept walking the 200,000 objects of the imported libraries were 17% of a test
    # process's time (a sample of e2e and unit tests); frozen, they walk only what the tests themselves made.
    gc.collect()
    gc.freeze()
