"""b2b_assets: keep B2B master data in sync between an ERP and B2B commerce platforms."""
