"""The HTTP routers of yizhi, one module per area; each exposes ``router``."""
