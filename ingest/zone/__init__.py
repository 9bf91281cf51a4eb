"""The raw landing zone (a local folder or an S3 prefix) and the local cache of its S3 objects."""
