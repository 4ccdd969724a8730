"""The admin pages under /admin: server-rendered, behind one login, for watching and repairing the sync."""

from admin import outbound, trainings  # noqa: F401 - their routes join the blueprint
from admin.views import bp

__all__ = ["bp"]
