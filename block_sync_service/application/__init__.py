"""Use cases of the block sync service: the ordered sync pipeline and the log archiver."""
