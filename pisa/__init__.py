"""pisa-aqa: action-quality assessment from recordings of a performance."""
__version__ = "0.1.0"

# the registries (pisa.registry) load the plugins before their first lookup
from pisa import plugin_loader as _plugin_loader  # noqa: E402,F401
