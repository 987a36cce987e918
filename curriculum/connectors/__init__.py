"""Connectors: read document exports (Notion, ...) into plain Python objects ready for chunking."""
