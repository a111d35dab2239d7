"""Why a delivery is given up at once."""


class PermanentDeliveryError(Exception):
    """Retrying will not help (the channel is gone, or the bot lacks a permission)."""
