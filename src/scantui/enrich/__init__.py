"""Enrichment of sources with ASN, organization, hostname and category."""
