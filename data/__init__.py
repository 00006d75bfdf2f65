"""The bundled world, shipped inside the installed package so that ``kadath serve`` works from any
folder after any install. Content only: this package holds TOML files and must never hold code."""
