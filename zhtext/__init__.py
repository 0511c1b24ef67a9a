"""Chinese text shared by ingest, tagging and the index: width and traditional→simplified
folding, and the word segmenter with the indicator vocabulary as its dictionary."""
