"""pisa-aqa: action-quality assessment from recordings of a performance."""
__version__ = "0.1.0"
