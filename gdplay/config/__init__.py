"""Config files: YAML in, validated frozen run configs out (no torch)."""
