"""The dashboard: live (app), static (static) and the pages both render (pages, views)."""
