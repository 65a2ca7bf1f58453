"""Small helpers every stage may use: argument checks, atomic files, the cache folder, the torch device."""
