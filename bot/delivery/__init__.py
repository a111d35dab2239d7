"""The outbox's delivery: the only place that turns what services decided into Discord calls; owned by `SmartBot`."""
