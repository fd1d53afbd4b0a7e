"""Publishing: the issue's web page, its images and the archive index, where archive_url serves them."""
