"""Data in: CSV and JSON-lines importers, the ingest API's logic, pull connectors."""
