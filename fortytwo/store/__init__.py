"""The data-access layer: every SQL statement of the application lives in this package."""
