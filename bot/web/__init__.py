"""The central office's web dashboard: its own process (`python -m bot web`) on the bot's database."""
