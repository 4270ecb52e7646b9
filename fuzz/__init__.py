"""Fuzz targets: see scripts/fuzz.py."""
