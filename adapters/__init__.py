"""Integrations of cvlearned features with other ecosystems (installed as ``cvlearned.adapters``)."""
