"""Entry point: build the settings once, then hand them to the command line."""

from bot.cli import main
from bot.settings import load_settings

if __name__ == "__main__":
    main(load_settings())
