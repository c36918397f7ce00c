"""JPEG and VQ rate-distortion: measuring compression (notebook 07)."""
