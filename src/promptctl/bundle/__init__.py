"""bundle layer (see DESIGN.md)."""
