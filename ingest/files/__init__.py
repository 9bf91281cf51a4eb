"""Raw event files: finding them, fingerprinting them, and cutting them into lines (JSON lines, JSON arrays, CSV)."""
