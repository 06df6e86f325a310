"""Platform adapters: one module per platform behind ``base.PlatformAdapter``; see ``registry``."""
