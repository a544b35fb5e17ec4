"""`python -m gdplay` runs the command line."""

from gdplay.cli import main

main()
