"""A module that fails when imported, as a host's module with a bug would."""

raise RuntimeError("this module fails when imported, on purpose")
