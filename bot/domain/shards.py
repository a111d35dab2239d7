"""Which guilds a process looks after when the bot runs as several processes (one per group of shards)."""

from __future__ import annotations

from dataclasses import dataclass

# Discord routes a guild to shard (guild_id >> 22) % shard_count.
SHARD_SHIFT = 22


@dataclass(frozen=True)
class ShardScope:
    """The shards this process runs; None for `ids` means all of them."""

    count: int = 1
    ids: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        """Reject shard ids outside the count."""
        if self.count < 1:
            raise ValueError("the shard count must be at least 1")
        if self.ids is not None and (not self.ids or any(not 0 <= i < self.count for i in self.ids)):
            raise ValueError(f"shard ids must be between 0 and {self.count - 1}")

    @property
    def everything(self) -> bool:
        """Return whether this process looks after every guild."""
        return self.ids is None or set(self.ids) == set(range(self.count))

    def owns(self, guild_id: int) -> bool:
        """Return whether this process looks after the guild."""
        return self.everything or (guild_id >> SHARD_SHIFT) % self.count in (self.ids or ())
