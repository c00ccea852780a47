"""Quizzes: sections of fixed items or random draws by tag, settings and review policy."""
