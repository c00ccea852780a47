"""Practice: a quiz or a course's concepts practised until mastered, the next question chosen for each student."""
