"""Shipped model weights, their manifest (``manifest.json``) and model cards (package data)."""
