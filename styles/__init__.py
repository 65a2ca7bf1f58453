"""The style catalog (catalog.json); installed as the package ``lucidsonicdreams.styles_data``."""
