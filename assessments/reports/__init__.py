"""Reports: quiz and item statistics, with flags for items that need a look."""
