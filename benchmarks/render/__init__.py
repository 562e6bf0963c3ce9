"""Renderers of the generated blocks in the README and docs, one module per results file.

Each module's `BLOCKS` maps block names to renderers; `benchmarks/docs.py` registers them.
"""
