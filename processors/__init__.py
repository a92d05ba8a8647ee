"""Stream processors: the pure ledger fold, the batch pipeline, and the faust worker."""
