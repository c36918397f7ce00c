"""Project tools: notebook execution and site build, the nbval tolerance plugin, kernel environment."""
