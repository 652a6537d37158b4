"""The HTTP face of yizhi: lookups, batch resolve, vector tiles, features and map pages.

Sub-packages that hold the engines (``api.tiles``) import no web framework; the routers that
expose them over HTTP are thin layers on top.
"""
