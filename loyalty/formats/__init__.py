"""Our overrides of Django's per-language formats (settings.FORMAT_MODULE_PATH); Django's own
formats fill in whatever a module here leaves out."""
