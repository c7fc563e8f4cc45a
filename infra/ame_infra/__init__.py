"""The Pulumi program's components: one `ComponentResource` per module, wired by `infra/__main__.py`."""
