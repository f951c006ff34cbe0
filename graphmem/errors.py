"""Errors a caller can act on, shared by every room (store errors live in ``store.base``)."""


class InputError(ValueError):
    """What the caller gave cannot be used (an empty query, a bad filter, ``k < 1``)."""
