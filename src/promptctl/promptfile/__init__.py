"""The prompt file format and the project configuration."""
