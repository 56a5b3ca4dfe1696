"""Presenters: turn results into tables, sentences and chart geometry for pages and documents."""
