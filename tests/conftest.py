pytest_plugins = ["tests.fixtures.db", "tests.sandbox.plugin"]
