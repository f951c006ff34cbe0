"""Errors of the LLM layer, each with a message a user can act on."""


class LLMError(RuntimeError):
    """An LLM call failed for good (after retries), or its answer could not be used."""


class LLMUnavailable(LLMError):
    """The endpoint cannot be reached or refuses our credentials."""


class LLMOutputError(LLMError):
    """The model answered, but not with what was asked (bad JSON, wrong shape)."""
