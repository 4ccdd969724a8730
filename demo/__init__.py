"""`make demo`: the whole loop in one command, with the Zoom simulator standing in for Zoom."""
