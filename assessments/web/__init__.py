"""The web pages: server-rendered Jinja2, usable without JavaScript; small scripts add autosave,
the timer and navigation."""
