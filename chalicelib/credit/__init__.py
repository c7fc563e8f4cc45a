"""Credit decisions: versioned policies as data, compiled once, evaluated with a full trace."""
