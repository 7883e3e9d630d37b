"""Module the Faust CLI loads (``faust -A botcopier.streams.agents_worker worker``).

Settings come from the usual places (botcopier.toml, BOTCOPIER_* variables). Faust sets up
the worker's logging itself and then adds the app's ``loghandlers``: BotCopier's JSON
handlers go there, beside Faust's own console log.
"""

from botcopier.config import load_settings
from botcopier.logs import log_handlers
from botcopier.run_record import write_run_record
from botcopier.streams.agents import create_app

settings = load_settings()
app = create_app(settings)
app.conf.loghandlers.extend(log_handlers("agents", settings))
run_record = write_run_record(settings, "agents")
