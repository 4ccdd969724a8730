"""Settings read from the environment, in one place."""

from config.settings import Settings, load_settings

__all__ = ["Settings", "load_settings"]
