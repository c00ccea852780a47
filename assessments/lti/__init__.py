"""LTI 1.3 Advantage: Assay as a tool an LMS launches (Core, Deep Linking, AGS, NRPS)."""
