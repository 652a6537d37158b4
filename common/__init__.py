"""The ground floor of yizhi: what every package stands on and nothing of a subsystem.

Typed errors (:mod:`common.errors`), settings (:mod:`common.settings`), coordinate systems
(:mod:`common.coords`) and worker processes (:mod:`common.workers`). This package imports no
other yizhi package; everything else may import it. See docs/architecture.md.
"""

__version__ = "0.1.0"
