"""The root of every error BotCopier raises on purpose."""


class BotCopierError(Exception):
    """Base class: catch this to handle any error BotCopier raises deliberately."""


class ConfigError(BotCopierError):
    """The configuration file or an environment override is invalid."""
