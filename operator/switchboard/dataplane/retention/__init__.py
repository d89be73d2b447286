"""Retention: ended conversations deleted after `spec.dataProtection.retention.days`."""
