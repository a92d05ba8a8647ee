"""Starting, stopping and checking the real services of the local stack."""
