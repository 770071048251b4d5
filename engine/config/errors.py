"""The errors of config validation: one line ``<key>: got <value!r>; expected <what>``."""


class ConfigError(ValueError):
    """A bad config value, naming its key; ``key``, ``value`` and ``expected`` are kept so that
    a translated course key can be reported under the user's own name."""

    def __init__(self, key, value, expected):
        super().__init__(f"{key}: got {value!r}; expected {expected}")
        self.key, self.value, self.expected = key, value, expected


class ConfigTypeError(ConfigError, TypeError):
    """A config value of the wrong type (a string for a number, a value for a section)."""
