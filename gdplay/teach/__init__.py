"""Teaching material: the lessons that follow the course notebook and the starter config."""
