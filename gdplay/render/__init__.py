"""Rendering: rich renderables and matplotlib figures of results (the only layer besides cli that imports them)."""
