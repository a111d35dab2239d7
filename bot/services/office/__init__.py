"""The network around the groups: office announcements, the resources library, the facilitators' network, pairings."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.db.engine import Database
from bot.services.office.announcements import AnnouncementService
from bot.services.office.network import NetworkService
from bot.services.office.pairing import PairingService
from bot.services.office.resources import ResourceService


@dataclass(frozen=True)
class OfficeServices:
    """What the office does for and between the groups (its figures live in `participation.office`)."""

    announcements: AnnouncementService
    resources: ResourceService
    network: NetworkService
    pairing: PairingService

    @classmethod
    def build(cls, database: Database, clock: Clock) -> OfficeServices:
        """Wire each service to the database and clock."""
        return cls(
            AnnouncementService(database, clock),
            ResourceService(database, clock),
            NetworkService(database, clock),
            PairingService(database, clock),
        )
