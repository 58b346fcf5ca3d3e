"""pytest-spoke: pytest fixtures for spoke, the HubSpot CRM API emulator.

The wheel carries the ``spoke`` binary; ``spoke_server`` starts it, ``spoke_portal`` gives
each test a portal of its own. Outside pytest, ``SpokeServer.start()`` / ``.attach()`` and
``Portal`` work the same way.
"""

from .admin import Admin, Clock, Fault, Portal, SpokeError
from .server import SpokeServer, SpokeStartError, find_binary

__all__ = [
    "Admin",
    "Clock",
    "Fault",
    "Portal",
    "SpokeError",
    "SpokeServer",
    "SpokeStartError",
    "find_binary",
]
