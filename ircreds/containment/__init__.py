"""The containment plan (being split into a package: this step only moves the module)."""

from ircreds.containment.build import *  # noqa: F403
