"""One module per CLI subcommand. cli.py parses argv and calls ``run(...)`` with plain keyword values."""
