"""The `kb` command: one module per command group, wired by kb.cli.main."""
