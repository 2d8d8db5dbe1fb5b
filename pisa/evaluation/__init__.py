"""(filled in by its module owner)"""


def register_components(register) -> None:
    """Register this package's components through the plugin hook's callback."""
