"""The public import path of the decision maths: ``from app import analysis``.

The maths lives in :mod:`app.domain.analysis`; this module re-exports it so scripts keep
working whatever the package layout.
"""

from app.domain.analysis import *  # noqa: F403
from app.domain.analysis import __all__  # noqa: F401
