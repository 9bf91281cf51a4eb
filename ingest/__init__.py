"""Raw landing for the Student Behavior ELT: sample generation and loading into `raw`."""

__version__ = "1.1.0"
