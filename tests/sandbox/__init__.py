"""A loopback Discord (REST v10 + gateway) for end-to-end tests of an unmodified discord.py client.

Quick start in a test (fixtures from `tests.sandbox.plugin`, registered in `tests/conftest.py`)::

    async def test_hello(sandbox, sandbox_world, start_client):
        await start_client(MyBot(guild_ready_timeout=0.05))      # login, READY, GUILD_CREATEs
        await sandbox.wait_for_commands("hello")                  # the bot synced its tree
        handle = await sandbox.actors.invoke(sandbox_world.guild, sandbox_world.alice, "hello", {"name": "Bob"})
        assert (await handle.response()).content == "Hi Bob"
        print(sandbox.transcript)                                 # everything, in order

Outside pytest: `async with Sandbox() as sb:` then `await run_client(sb, client)` (tests.sandbox.runner),
or run it alone with `python -m tests.sandbox --port N`.
"""
