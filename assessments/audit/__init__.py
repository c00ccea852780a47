"""The audit trail of grades: who changed which question's grade, when, from what to what, and why."""
