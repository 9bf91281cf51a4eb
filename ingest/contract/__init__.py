"""The event contract at the edge: JSON Schemas of contract v1 and the validation that uses them."""
