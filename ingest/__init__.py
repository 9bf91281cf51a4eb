"""Raw landing for the Student Behavior ELT: sample generation and loading into `raw`."""
