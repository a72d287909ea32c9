"""kb's tests: unit/ the core, web/ through the app, browser/ what a person clicks."""
