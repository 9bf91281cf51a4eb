"""Who may read what: the read API's bearer tokens (tokens.py) and their roles."""
