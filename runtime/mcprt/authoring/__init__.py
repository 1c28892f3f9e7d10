"""Authoring: from an API description to a reviewed manifest (`mcprt init`, suggested prunes, names)."""
