"""People counting from camera video on the CPU, keeping counts and anonymous tracks, never frames.

A clip goes through background subtraction (detect), multi-object tracking (track) and a counting
line with zones (count); pipeline runs one clip or many in parallel; render draws synthetic clips
with exact ground truth for tests and the demo; ledger writes the results to the warehouse.
Nothing here imports Dagster.
"""
