"""Folder batches: collect inputs safely, run a network over them pipelined and tiled, write results with
provenance, resume after a kill."""
