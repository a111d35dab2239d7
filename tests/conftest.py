import sys

# Keep compiled bytecode even where PYTHONDONTWRITEBYTECODE is set: every bot a test starts loads its cogs and
# migrations afresh, and without the cache each load compiles them from source again (about a minute of CPU per run).
sys.dont_write_bytecode = False

pytest_plugins = ["tests.fixtures.db", "tests.sandbox.plugin"]
