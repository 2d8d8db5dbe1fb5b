"""The dataset base and the small parts it composes."""
