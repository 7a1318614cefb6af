"""The archive: every fetched document and its derived data in SQLite, published with Datasette."""
