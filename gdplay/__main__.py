"""`python -m gdplay` runs the command line."""

from gdplay.cli.app import main

main()
