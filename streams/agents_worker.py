"""Module the Faust CLI loads (``faust -A botcopier.streams.agents_worker worker``).

Settings come from the usual places (botcopier.toml, BOTCOPIER_* variables).
"""

from botcopier.config import load_settings
from botcopier.streams.agents import create_app

app = create_app(load_settings())
