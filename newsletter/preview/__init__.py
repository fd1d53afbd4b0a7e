"""Preview: a local server to look at a build, and the static web archive of sent issues."""
