"""Run the sandbox alone: `python -m tests.sandbox --port N` (Ctrl+C to stop)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from tests.sandbox.server import Sandbox

log = logging.getLogger(__name__)


async def _serve(port: int, *, app_name: str) -> None:
    sandbox = Sandbox(app_name=app_name)
    await sandbox.start(port)
    actors = sandbox.actors
    guild = await actors.create_guild("Demo Group")
    general = await actors.create_channel(guild, "general")
    voice = await actors.create_channel(guild, "meeting-room", kind="voice")
    facilitator = await actors.create_role(guild, "Facilitator", mentionable=True)
    alice = await actors.create_member(guild, "alice", roles=[facilitator])
    await actors.create_member(guild, "bob")
    print(f"Sandbox Discord listening on {sandbox.api_base}")
    print(f"  gateway:        {sandbox.gateway_url}")
    print(f"  application id: {sandbox.state.app.id}")
    print(f"  bot token:      {sandbox.token}")
    print(f"  demo guild:     {guild.name} ({guild.id}), #{general.name} ({general.id}), #{voice.name} ({voice.id})")
    print(f"  members:        alice ({alice.id}, Facilitator), bob")
    print(f"  counters:       http://127.0.0.1:{sandbox.port}/_sandbox/stats (and /_sandbox/transcript)")
    print("Point discord.py at it before starting a client:")
    print(f"  discord.http.Route.BASE = {sandbox.api_base!r}")
    print(f"  discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL({sandbox.gateway_url!r})")
    print("Ctrl+C to stop; the transcript is printed on exit.", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Also when started in the background, where the shell makes Python ignore SIGINT.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        print("\n----- transcript -----")
        print(sandbox.render())
        await sandbox.stop()


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m tests.sandbox", description="Run the loopback Discord sandbox.")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--app-name", default="SMART Bot", help="name of the sandbox application and bot user")
    parser.add_argument("--verbose", action="store_true", help="log every request and dispatch")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port, app_name=args.app_name))


if __name__ == "__main__":
    main()
