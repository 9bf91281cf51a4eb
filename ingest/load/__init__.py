"""Landing raw files in `raw.events`: the dlt loader, its lock, and the folder watcher."""
