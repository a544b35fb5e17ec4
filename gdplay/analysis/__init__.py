"""Analysis: derivatives, curvature, convergence theory, the minimum a run heads for, explain."""
