"""The public verifier: what Candor can say about any video, from its C2PA manifest, watermark and content."""
