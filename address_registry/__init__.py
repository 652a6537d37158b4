"""The unified address and building register (一标).

Admin areas, roads, doorplates, estates, buildings, units and rooms with their identifiers,
lifecycle and history; built from the sample city or a city's own sources, queried by the
resolver, partitioned by :mod:`grid_partition` and fused onto by :mod:`fusion`.
"""
