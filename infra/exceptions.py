"""Errors of the operations tools (plots)."""

from botcopier.exceptions import BotCopierError


class PlotError(BotCopierError):
    """Nothing to plot, or the input cannot be plotted."""
