"""Today's quorum solver as it stood before the bounded engine: the honest baseline the bench
compares against. A verbatim copy (only its import of `rules` points here); never imported by
the product."""
