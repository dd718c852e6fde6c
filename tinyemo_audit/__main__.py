"""``python -m tinyemo_audit`` runs the command line."""

from .cli.main import main

main()
