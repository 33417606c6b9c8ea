"""The labels store: the YAML file analysts share and diff."""
