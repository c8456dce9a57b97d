"""`python -m optimizer ...` runs the command line, as `sitepivot ...` does."""

from optimizer.cli import main

main()
