"""The search's own error: a search that cannot run as asked.

:class:`SearchError` covers the search as a whole: its folder holds another search or a damaged one,
an argument conflicts with the search being resumed, a tuner that cannot run on this machine, no
data. The search space's own errors name their position in the space file
(:class:`~archbuilder.search.space.CandidateError`, :class:`~archbuilder.search.markers.MarkerError`,
:class:`~archbuilder.search.expressions.ExpressionError`); a search's files that cannot be written
raise :class:`~archbuilder.search.oracles.SearchWriteError`. Each is an
:class:`~archbuilder.errors.ArchbuilderError`: the command line prints its message as one line.
"""

from __future__ import annotations

from archbuilder.errors import ArchbuilderError


class SearchError(ArchbuilderError, ValueError):
    """A search cannot run as asked; the message says why and what to do."""


__all__ = ["SearchError"]
