"""BotCopier: watch MetaTrader 4 bots, learn to clone them, ship the clones back to MT4.

The top-level package holds what every part shares: the typed settings
(`botcopier.config`), the root exception (`botcopier.exceptions`) and the command line
(`botcopier.cli`). The parts themselves live in the subpackages `schemas`, `streams`,
`bridge`, `trainers`, `codegen` and `infra`.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
