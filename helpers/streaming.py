"""Large folders in bounded memory: histograms and codebooks streamed image by image (notebook 10)."""
