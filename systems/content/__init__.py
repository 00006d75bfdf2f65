"""World content: the data-file format, its loader and checker, and the builder of the world.

Loading reads files and runs once at start-up (or from ``kadath check-world``), never on the tick.
"""
