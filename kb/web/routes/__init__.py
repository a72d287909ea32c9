"""Thin routes, one module per area: parse the request, call the core, render."""
