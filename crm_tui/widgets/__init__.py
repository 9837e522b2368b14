"""Reusable widgets: deal cards, stage columns, pickers."""
