"""Small task-independent helpers shared by the trainers (checkpoints, metric logs, plots, schedules)."""
