"""One module per screen: overview, scanners, help, and the scanner placeholder detail."""
