"""Content as files: loading items from YAML with file:line errors, and checking the bank."""

from engine.content.loader import ContentError, LoadedItem, load_item_text, load_items
from engine.content.source import Problem

__all__ = ["ContentError", "LoadedItem", "Problem", "load_item_text", "load_items"]
