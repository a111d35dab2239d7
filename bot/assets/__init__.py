"""Files the bot ships with its code (fonts for posters), found beside this module, never at a machine path."""

from __future__ import annotations

from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent
FONTS_DIR = ASSETS_DIR / "fonts"
