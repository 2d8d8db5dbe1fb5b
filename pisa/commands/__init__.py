"""Subcommands of the ``pisa`` command line (see :mod:`pisa.cli`)."""
